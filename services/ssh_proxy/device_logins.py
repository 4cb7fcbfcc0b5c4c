"""Logins to one device in progress at once, per worker: the others wait their turn, in order.

A device's sshd drops connections that have not logged in yet past its ``MaxStartups``
(OpenSSH's default ``10:30:100``: from 10 on, 30% of new ones, rising to all at 100). The proxy
logs in to a device once per user session, so a burst of users to one device (users held while
the agent's keys were gone, released together; a fleet script; everyone reconnecting after a
restart) made the device drop some of the proxy's own logins, and those users were refused for a
failure the proxy caused. So a worker has at most ``limit`` logins to one device in progress at
once; with the graph's two workers and the default of 4, a device sees at most 8, under
OpenSSH's 10. A login that waits longer than ``wait`` seconds for its turn is refused as
unreachable, saying why.
"""

import contextlib

import attrs
from twisted.internet import defer

from services.registry import Device
from services.ssh_proxy import errors


@attrs.define
class DeviceLogins:
    limit: int
    by_device: dict[str, defer.DeferredSemaphore] = attrs.field(factory=dict)  # only while in use

    @contextlib.asynccontextmanager
    async def turn(self, reactor, device: Device, wait: float):
        """Held while one login to ``device`` is in progress."""
        logins = self.by_device.setdefault(device.uuid, defer.DeferredSemaphore(self.limit))
        try:
            await logins.acquire().addTimeout(wait, reactor)
        except defer.TimeoutError:
            self._forget_if_idle(device.uuid, logins)
            why = f"no turn to log in within {wait:g}s, at most {self.limit} at once"
            raise errors.unreachable(device.uuid, device.address, device.port, why) from None
        try:
            yield
        finally:
            logins.release()
            self._forget_if_idle(device.uuid, logins)

    def _forget_if_idle(self, uuid: str, logins: defer.DeferredSemaphore) -> None:
        if logins.tokens == self.limit and not logins.waiting:
            del self.by_device[uuid]
