"""How a service fails: one line on stderr and an exit status, never a traceback.

The supervisor shows a service's last stderr line as the reason it failed, so every expected
failure is raised as ``ServiceError`` with a message that names the cause and the file or socket.
"""

import sys
from collections.abc import Callable


class ServiceError(Exception):
    """An expected failure: ``message`` is safe to log (it never holds key material)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def report(failure: ServiceError, name: str) -> int:
    """Print ``NAME: message`` on stderr; return the exit status to use."""
    print(f"{name}: {failure.message}", file=sys.stderr, flush=True)
    return failure.status


def run(main: Callable[[], int], name: str) -> int:
    """Call ``main``; turn a ServiceError into one stderr line and its exit status."""
    try:
        return main()
    except ServiceError as failure:
        return report(failure, name)
