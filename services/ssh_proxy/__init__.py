"""The SSH proxy worker: users reach devices through it, and it signs onward with the shared agent.

One process per replica; every replica adopts the same listening socket and shares the host keys.
Modules have one job each: ``server`` (listening, user authentication plumbing), ``publickey``
(Conch's publickey method without its format-string bug), ``auth`` (the registry-backed key
checker), ``upstream`` (the connection to the device), ``relay`` (the connection layer passed
through once both sides are authenticated), ``bridge`` (the balena ``host UUID`` form),
``refusal`` (telling the user what went wrong), ``audit`` and ``hostkeys``.
"""
