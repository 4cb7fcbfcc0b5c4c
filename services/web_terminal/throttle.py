"""Failed sign-ins per client address, forgiven at a steady rate: tokens cannot be tried at speed.

A token has 32 random bytes, so guessing is hopeless; what a flood of tries costs is registry
lookups and log lines. Each address may fail ``burst`` times at once, then once every
``period / burst`` seconds (a leaky bucket); past that, sign-in answers 429 with Retry-After,
before any lookup, even for the right token. Only the ``addresses`` most recently failing are
remembered (an LRU), so a flood from many addresses costs bounded memory: the least recent is
forgotten first. Behind a reverse proxy every browser shares the proxy's address.
"""

import time
from collections import OrderedDict


class Failures:
    def __init__(self, burst: int, period: float, addresses: int, clock=time.monotonic) -> None:
        self.burst = burst
        self.rate = burst / period  # failures forgiven per second
        self.limit = addresses
        self.clock = clock
        self._level: OrderedDict[str, tuple[float, float]] = OrderedDict()  # address -> (level, when)

    def _now(self, address: str) -> float:
        level, when = self._level.get(address, (0.0, 0.0))
        return max(0.0, level - (self.clock() - when) * self.rate)

    def wait(self, address: str) -> float:
        """Seconds before ``address`` may try again; 0 if it may now."""
        excess = self._now(address) + 1 - self.burst
        return excess / self.rate if excess > 0 else 0.0

    def failed(self, address: str) -> None:
        self._level[address] = (self._now(address) + 1, self.clock())
        self._level.move_to_end(address)
        while len(self._level) > self.limit:
            self._level.popitem(last=False)

    def addresses(self) -> list[str]:
        """The addresses remembered, least recently failing first."""
        return list(self._level)
