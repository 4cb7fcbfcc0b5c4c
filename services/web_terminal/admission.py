"""Connections at once, in all and from one client address: past either, a new one is closed.

Before signing in, anyone who reaches the port can open connections and send nothing (Twisted
closes an HTTP connection after a minute of quiet, and a byte now and then keeps it), or open
them faster than they are closed. So a worker holds at most ``total`` connections, WebSockets
included, and at most ``per_address`` from one address; one more is closed at once, before any
of it is read, and the log says so at most every ``lograte.INTERVAL`` seconds. Behind a reverse
proxy every browser shares the proxy's address: raise ``per_address`` to ``total`` there.
"""

from twisted.logger import Logger
from twisted.protocols import policies

from services.shared.lograte import LogRate

_log = Logger()


class Admission(policies.WrappingFactory):
    """Wraps the site: counts its connections by client address, refuses past the limits."""

    def __init__(self, reactor, site, total: int, per_address: int) -> None:
        super().__init__(site)
        self.total = total
        self.per_address = per_address
        self.by_address: dict[str, int] = {}
        self.refusals = LogRate(reactor.seconds)

    def buildProtocol(self, addr):
        host = addr.host
        if len(self.protocols) >= self.total or self.by_address.get(host, 0) >= self.per_address:
            self._refusing(host)
            return None  # Twisted closes the connection
        self.by_address[host] = self.by_address.get(host, 0) + 1
        wrapper = super().buildProtocol(addr)
        wrapper.address = host
        return wrapper

    def unregisterProtocol(self, wrapper) -> None:
        super().unregisterProtocol(wrapper)
        self.by_address[wrapper.address] -= 1
        if not self.by_address[wrapper.address]:
            del self.by_address[wrapper.address]

    def _refusing(self, host: str) -> None:
        refused = self.refusals.happened()
        if not refused:
            return
        _log.warn(
            "{refused} connections refused: {open} open (at most {total}, {per_address} per address); "
            "the last from {host}",
            refused=refused,
            open=len(self.protocols),
            total=self.total,
            per_address=self.per_address,
            host=host,
        )
