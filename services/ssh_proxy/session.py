"""A user's authenticated connection: choose the device, reach it, then relay or refuse.

``USER+UUID`` names the device at login, so the proxy dials at once and holds what the user
sends until the device is ready; the balena form waits for the first exec (see ``bridge``).
Checks run in the order that gives the most useful answer: the device exists, the user may reach
it, the agent holds keys (the incident's failure, found before dialling), then the device itself.
A device that drops mid-session is reported like any other failure: one line and exit status 255
on each session under way, not a disconnect message wrapped in the client's own words.
"""

from twisted.conch.ssh import service, transport
from twisted.conch.ssh.common import getNS
from twisted.internet import defer, reactor
from twisted.logger import Logger
from twisted.python.failure import Failure

from services.ssh_proxy import errors, upstream, wire
from services.ssh_proxy.audit import SessionRecord
from services.ssh_proxy.auth import Route
from services.ssh_proxy.bridge import Bridge
from services.ssh_proxy.refusal import Refusal
from services.ssh_proxy.relay import Relay
from services.ssh_proxy.settings import Settings

_log = Logger()


def _explained(failure: Failure) -> Failure:
    """A ProxyError as is; anything else is a bug, logged for the operator, vague for the user."""
    if failure.check(errors.ProxyError):
        return failure
    _log.failure("unexpected error while reaching a device", failure)
    return Failure(errors.internal())


class UserConnection(service.SSHService):
    """The ssh-connection service the user gets once authenticated."""

    name = b"ssh-connection"

    def serviceStarted(self) -> None:
        route: Route = self.transport.avatar
        self.settings: Settings = self.transport.factory.settings
        peer = self.transport.transport.getPeer()
        self.record = SessionRecord(route.user, route.device, f"{peer.host}:{peer.port}", via=route.via)
        self.relay = Relay.towards(self.transport.sendPacket)
        self.device: upstream.DeviceTransport | None = None
        self.stopped = False
        # The user's session channels (by the user's channel number) and whether each has a pty:
        # the channels to tell, in the right line ending, if the device drops.
        self.sessions: dict[int, bool] = {}
        if route.device is not None:
            held: list[tuple[int, bytes]] = []
            self.handle = lambda number, payload: held.append((number, payload))
            self._reach(route.device).addCallbacks(
                lambda _: self._relay_all(held), lambda failure: self._refuse(failure.value, held)
            )
        else:
            self.bridge = Bridge(self.relay, self._chosen)
            self.handle = self.bridge.handle

    def packetReceived(self, number: int, payload: bytes) -> None:
        self.handle(number, payload)

    def _reach(self, uuid: str) -> defer.Deferred:
        self.record.device = uuid
        d = defer.ensureDeferred(self._dial(self.record.user, uuid))
        return d.addErrback(_explained)

    async def _dial(self, user: str, uuid: str) -> None:
        registry = self.settings.registry
        device = await registry.call(lambda store: store.device(uuid))
        if device is None:
            raise errors.unknown_device(uuid)
        if not await registry.call(lambda store: store.may_access(user, uuid)):
            raise errors.not_authorised(user, uuid)
        agent, identities = await upstream.identities(reactor, self.settings)
        self.device = await upstream.dial(reactor, self.settings, device, agent, identities)
        if self.stopped:  # the user left while the device was being reached
            self.device.transport.loseConnection()
            return
        self.relay.attach(self.device.sendPacket)
        self.device.connection.deliver_to(self.relay.from_device)
        self.device.on_lost = self._device_lost

    def _relay_all(self, held: list[tuple[int, bytes]]) -> None:
        self.handle = self._from_user
        for number, payload in held:
            self._from_user(number, payload)

    def _from_user(self, number: int, payload: bytes) -> None:
        """Relay to the device, noting which of the user's channels are sessions with a pty."""
        if number == wire.CHANNEL_OPEN:
            kind, rest = getNS(payload)
            sender = wire.u32.unpack_from(rest)[0]
            if kind == b"session":
                self.sessions[sender] = False
            else:
                self.sessions.pop(sender, None)
        elif number == wire.CHANNEL_REQUEST:
            link = self.relay.user.channels.get(wire.u32.unpack_from(payload)[0])
            if link is not None and link.peer in self.sessions and getNS(payload[4:])[0] == b"pty-req":
                self.sessions[link.peer] = True
        self.relay.from_user(number, payload)

    def _refuse(self, problem: errors.ProxyError, held: list[tuple[int, bytes]]) -> Refusal:
        self.record.result = problem.code
        refusal = Refusal(problem, self.transport.sendPacket)
        self.handle = refusal.handle
        for number, payload in held:
            refusal.handle(number, payload)
        return refusal

    def _chosen(self, uuid: str | None) -> None:
        if uuid is None:
            self._refuse_bridge(errors.usage())
            return

        def reached(_) -> None:
            self.bridge.open_on_device(
                ready, lambda message: self._refuse_bridge(errors.session_refused(message))
            )

        def ready() -> None:
            self.sessions[self.bridge.link.peer] = False
            self.handle = self._from_user
            self.bridge.replay(self._from_user)

        self._reach(uuid).addCallbacks(reached, lambda failure: self._refuse_bridge(failure.value))

    def _refuse_bridge(self, problem: errors.ProxyError) -> None:
        link = self.bridge.link
        refusal = self._refuse(problem, [])
        refusal.adopt(link.local, link.peer)
        self.bridge.replay(refusal.handle)
        if self.device is not None:
            self.device.transport.loseConnection()

    def _device_lost(self, why: str) -> None:
        """Tell each session under way why it ended; without one, disconnect saying why.

        Forwarded channels just close. Anything the user opens afterwards is refused with the
        same line. With no session channel (``ssh -N -L``) only a disconnect reaches the user.
        """
        if self.stopped or self.record.result != "ok":  # gone, or already told why
            return
        problem = errors.device_closed(self.record.device, why)
        if self.handle != self._from_user:  # the balena form, before the device's channel opened
            self._refuse_bridge(problem)
            return
        refusal = self._refuse(problem, [])
        refusal.next_id = self.relay.user.next_id  # new channels must not reuse a number in use
        told = False
        for link in list(self.relay.user.channels.values()):
            if link.peer is None or link.sent_close:
                continue
            if link.peer in self.sessions:
                refusal.tell(link.local, link.peer, self.sessions[link.peer])
                told = True
            else:
                self.transport.sendPacket(wire.CHANNEL_CLOSE, link.header())
        if not told:
            self.transport.sendDisconnect(transport.DISCONNECT_CONNECTION_LOST, problem.message.encode())

    def serviceStopped(self) -> None:
        self.stopped = True
        if self.device is not None and self.device.transport.connected:
            self.device.transport.loseConnection()
        self.record.emit(self.relay.bytes_to_device, self.relay.bytes_to_user)
