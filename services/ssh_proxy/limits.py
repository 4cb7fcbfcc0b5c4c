"""The limits every SSH server is expected to have, with OpenSSH's defaults as the reference.

A client is hostile until it has logged in, and even then it is one user among many: each limit
bounds what one connection (or a flood of them) can make a worker hold. The names follow
``sshd_config`` so that an operator who knows OpenSSH knows what each one does.
"""

import secrets

import attrs


@attrs.frozen
class Startups:
    """``MaxStartups start:rate:full``: random early drop of connections not yet logged in.

    Below ``start`` unauthenticated connections every new one is served; from ``start`` a new
    one is dropped with probability ``rate`` percent, rising linearly to 100% at ``full``.
    """

    start: int = 10
    rate: int = 30
    full: int = 100

    @classmethod
    def parse(cls, text: str) -> "Startups":
        """``N`` (drop everything past N, as OpenSSH reads it) or ``start:rate:full``."""
        parts = text.split(":")
        if not all(part.isdigit() for part in parts) or len(parts) not in (1, 3):
            raise ValueError(f"{text!r} is not N or START:RATE:FULL (e.g. 10:30:100)")
        start, rate, full = (int(parts[0]), 100, int(parts[0])) if len(parts) == 1 else map(int, parts)
        if not 0 < start <= full or not 0 < rate <= 100:
            raise ValueError(f"{text!r}: need 0 < START <= FULL and RATE between 1 and 100")
        return cls(start, rate, full)

    def drop_percent(self, unauthenticated: int) -> int:
        """The chance, in percent, of dropping a new connection while ``unauthenticated`` are open."""
        if unauthenticated < self.start:
            return 0
        if unauthenticated >= self.full:
            return 100
        return self.rate + (100 - self.rate) * (unauthenticated - self.start) // (self.full - self.start)

    def drops(self, unauthenticated: int) -> bool:
        return secrets.randbelow(100) < self.drop_percent(unauthenticated)

    def __str__(self) -> str:
        return f"{self.start}:{self.rate}:{self.full}"


@attrs.frozen
class Limits:
    # LoginGraceTime: from accept to the end of user authentication (version exchange, key
    # exchange and every attempt), whatever the client does or does not send.
    login_grace_time: float = 120
    max_startups: Startups = Startups()
    # MaxAuthTries: failed attempts before the connection is dropped (the last one included).
    max_auth_tries: int = 6
    # MaxSessions: session channels open at once on one connection, relayed or refused.
    max_sessions: int = 10
    # Channels of every type open at once on one connection (sessions, TCP forwarded either way):
    # OpenSSH bounds them only by its own table (thousands); the proxy holds state for each.
    max_channels: int = 64
    # Logins to one device in progress at once, per worker (``device_logins``): keep it times the
    # workers under the devices' MaxStartups (OpenSSH's default starts dropping at 10).
    max_device_logins: int = 4
    # After login, how long a connection may stay without a device: the balena form waiting for
    # its ``host UUID`` exec, or a refused connection waiting for a session to tell why.
    no_device_timeout: float = 30
