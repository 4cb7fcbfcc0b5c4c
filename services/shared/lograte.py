"""When to log what a flood makes happen at any rate (a refused connection): at most once every
``INTERVAL`` seconds, so that a flood costs log lines at a fixed rate however fast it comes.

Both services refuse connections past their limits (the proxy's ``MaxStartups``, the web
terminal's admission) and say so through this one rule, with OpenSSH's interval for MaxStartups.
"""

import math
from collections.abc import Callable

INTERVAL = 15.0  # seconds between two log lines of one kind (OpenSSH's, for MaxStartups)


class LogRate:
    """Counts what happens and says when to log it: the first time at once, then when
    ``INTERVAL`` seconds have passed since the last line (``clock``: the reactor's seconds)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._count = 0  # since the last line
        self._said = -math.inf  # when that was

    def happened(self) -> int:
        """Count one more: how many to log now (those since the last line, this one included),
        or 0 when the last line was less than ``INTERVAL`` seconds ago."""
        self._count += 1
        now = self.clock()
        if now - self._said < INTERVAL:
            return 0
        count, self._count, self._said = self._count, 0, now
        return count

    def restart(self) -> None:
        """A new run begins: its first one is logged at once."""
        self._count, self._said = 0, -math.inf
