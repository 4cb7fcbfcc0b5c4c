"""The one harness the tests and the benches share, each piece in one module, imported one way.

- ``supervisor``: the real supervisor as a subprocess, its JSON event log read as it is written
  (the ``supervisor`` fixture in ``tests/conftest.py`` runs it and checks nothing is left behind);
- ``simulated``: the real runtime on trio's MockClock, with simulated processes;
- ``services``: the services' programs run as the supervisor runs them, keys, a line of output;
- ``net``: free ports on 127.0.0.1, and whether SSH answers on one;
- ``wsclient``: a WebSocket client for the web terminal: what no page would send, and many sessions;
- ``deployed``: the shipped graph under the real supervisor, set up as the demo does (the stack's
  tests and the benches).

What the demo needs as well lives in ``examples/demo/stack.py`` and is imported from there, by the
tests and the benches alike: the repository's ``ROOT`` and ``GRAPHS``, ``wait_until`` (the one
bounded polling wait), ``stop_process``, ``keypair``, the stand-in device and the stack's files.
The dependency goes that way only: the demo runs as a script (``dev/demo``) without the test
suite, and what the stack's tests prove is then the demo's own way of running the stack.
Fixtures stay in the ``conftest.py`` of the directories that use them.
"""
