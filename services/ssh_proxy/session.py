"""A user's authenticated connection: choose the device, reach it, then relay or refuse.

``USER+UUID`` names the device at login, so the proxy dials at once and holds what the user
sends until the device is ready; the balena form waits for the first exec (see ``bridge``).
Checks run in the order that gives the most useful answer: the device exists and the user may
reach it (one answer for both, so that a user learns nothing of devices they were not granted),
the agent holds keys (the incident's failure, found before dialling), then the device itself.
A device that drops mid-session is reported like any other failure: one line and exit status 255
on each session under way, not a disconnect message wrapped in the client's own words.

What a logged-in user can make the proxy hold is bounded too: ``MaxSessions`` session channels
and ``max_channels`` channels of every type at once, ``HELD_LIMIT`` bytes held until the device
is reached, and ``no_device_timeout`` for a connection without a device (the balena form before
its exec, or refused: the user's client leaves once told, and ``ssh -N`` gets the same line as
the disconnect reason).
"""

import time

from twisted.conch.ssh import service, transport
from twisted.conch.ssh.common import getNS
from twisted.internet import defer, reactor
from twisted.logger import Logger
from twisted.python.failure import Failure

from services.shared.registry_store import NAME
from services.ssh_proxy import errors, metrics, upstream, wire
from services.ssh_proxy.audit import SessionRecord
from services.ssh_proxy.auth import Route
from services.ssh_proxy.bridge import Bridge
from services.ssh_proxy.channels import UserChannels
from services.ssh_proxy.refusal import Refusal
from services.ssh_proxy.relay import ProtocolError, Relay
from services.ssh_proxy.settings import Settings

_log = Logger()

# What the user may send before the device is reached (requests, opens, data past a window),
# held in memory to be replayed: a shell's pty-req, env and exec take a few hundred bytes. Each
# message counts its size and what Python holds for it besides (a tuple, a list slot, the bytes
# object's header): a flood of 4-byte messages would otherwise cost 25 times the limit.
HELD_LIMIT = 1024 * 1024
HELD_OVERHEAD = 100

_SENT_WATCHED = {
    wire.CHANNEL_OPEN,
    wire.CHANNEL_OPEN_CONFIRMATION,
    wire.CHANNEL_OPEN_FAILURE,
    wire.CHANNEL_CLOSE,
}
_RECEIVED_WATCHED = {
    wire.CHANNEL_OPEN_CONFIRMATION,
    wire.CHANNEL_OPEN_FAILURE,
    wire.CHANNEL_REQUEST,
    wire.CHANNEL_CLOSE,
}


def _check(number: int, payload: bytes) -> None:
    """Every part of the proxy reads a message's fields without checking them: checked here, once."""
    if not wire.well_formed(number, payload):
        raise ProtocolError(f"malformed message {number}")


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
        metrics.SESSIONS_OPEN.inc()
        limits = self.settings.limits
        self.channels = UserChannels(limits.max_sessions, limits.max_channels)
        self.relay = Relay.towards(self.to_user)
        self.device: upstream.DeviceTransport | None = None
        self.stopped = False
        self.deadline = None  # while the connection has no device: when it is closed
        self.held_bytes = 0
        if route.device is not None:
            held: list[tuple[int, bytes]] = []
            self.handle = self._holding(lambda number, payload: held.append((number, payload)))
            self._reach(route.device).addCallbacks(
                lambda _: self._relay_all(held), lambda failure: self._refuse(failure.value, held)
            )
        else:
            self.bridge = Bridge(self.relay, self._chosen)
            self.handle = self._holding(self.bridge.handle)
            self._close_later(errors.usage())

    def packetReceived(self, number: int, payload: bytes) -> None:
        try:
            _check(number, payload)
            if number == wire.CHANNEL_OPEN:
                why = self.channels.open(payload)
                if why is not None:
                    peer = wire.u32.unpack_from(getNS(payload)[1])[0]
                    reason = wire.OPEN_ADMINISTRATIVELY_PROHIBITED
                    self.to_user(wire.CHANNEL_OPEN_FAILURE, wire.open_failure(peer, reason, why))
                    return
            elif number in _RECEIVED_WATCHED:
                self.channels.received(number, payload)
        except ProtocolError as error:
            self._user_broke(error)
            return
        self._deliver(number, payload)

    def _deliver(self, number: int, payload: bytes) -> None:
        """Pass a user's message to ``handle``; a protocol error in it ends the connection. What was
        held is replayed through here too, and dropped once the user has left or been dropped."""
        if self.stopped or self.transport.transport.disconnecting:
            return
        try:
            self.handle(number, payload)
        except ProtocolError as error:
            self._user_broke(error)

    def _user_broke(self, error: ProtocolError) -> None:
        self._broke_protocol("the user", error)
        self.transport.sendDisconnect(transport.DISCONNECT_PROTOCOL_ERROR, str(error).encode())

    def _from_device(self, number: int, payload: bytes) -> None:
        try:
            _check(number, payload)
            if number == wire.CHANNEL_OPEN and (why := self.channels.full()) is not None:
                peer = wire.u32.unpack_from(getNS(payload)[1])[0]  # ``ssh -R``: a connection on the device
                failure = wire.open_failure(peer, wire.OPEN_ADMINISTRATIVELY_PROHIBITED, why)
                self.device.sendPacket(wire.CHANNEL_OPEN_FAILURE, failure)
                return
            self.relay.from_device(number, payload)
        except ProtocolError as error:
            if self.record.result != "ok":  # already told: the rest of the read that broke it
                return
            self._broke_protocol("the device", error)
            self._device_lost(f"protocol error: {error}")
            self.device.transport.sendDisconnect(transport.DISCONNECT_PROTOCOL_ERROR, str(error).encode())

    def _broke_protocol(self, who: str, error: ProtocolError) -> None:
        """One line for the operator: the connection it ends is the limit on how often it is written."""
        _log.warn(
            "session of {user} from {peer} to {device}: {who} broke the protocol ({problem}), disconnected",
            user=self.record.user,
            peer=self.record.peer,
            device=self.record.device,
            who=who,
            problem=str(error),
        )

    def to_user(self, number: int, payload: bytes) -> None:
        """Every message to the user goes through here, so that ``channels`` sees it."""
        if number in _SENT_WATCHED:
            self.channels.sent(number, payload)
        self.transport.sendPacket(number, payload)

    def _holding(self, hold):
        """``hold``, counting what it holds against HELD_LIMIT."""

        def handle(number: int, payload: bytes) -> None:
            self.held_bytes += len(payload) + HELD_OVERHEAD
            if self.held_bytes > HELD_LIMIT:
                message = f"more than {HELD_LIMIT} bytes sent before the device was reached".encode()
                self.transport.sendDisconnect(transport.DISCONNECT_BY_APPLICATION, message)
                return
            hold(number, payload)

        return handle

    def _close_later(self, problem: errors.ProxyError) -> None:
        """Disconnect with ``problem`` after no_device_timeout, unless the wait ends first.

        The time the connection was held (``hold``) counts: held, then refused, a connection stays
        without a device no longer than it could before holds existed."""
        self._stop_waiting()
        if self.stopped:  # the user left while the device was being reached
            return
        wait = max(self.settings.limits.no_device_timeout - self.record.held_ms / 1000, 0)
        self.deadline = reactor.callLater(wait, self._give_up, problem)

    def _stop_waiting(self) -> None:
        if self.deadline is not None and self.deadline.active():
            self.deadline.cancel()
        self.deadline = None

    def _give_up(self, problem: errors.ProxyError) -> None:
        self.deadline = None
        if self.record.result == "ok":
            self.record.result = problem.code
        self.transport.sendDisconnect(transport.DISCONNECT_BY_APPLICATION, problem.message.encode())

    def _reach(self, uuid: str) -> defer.Deferred:
        self.record.device = uuid
        d = defer.ensureDeferred(self._dial(self.record.user, uuid))
        return d.addErrback(_explained)

    async def _dial(self, user: str, uuid: str) -> None:
        if not NAME.fullmatch(uuid):  # as typed in the login name or ``host UUID``: anything
            raise errors.bad_device_name(uuid)
        chosen = time.monotonic()
        registry = self.settings.registry
        # Both answers in one lookup: an unknown device takes as long as one not granted.
        device, granted = await registry.call(
            lambda store: (store.device(uuid), store.may_access(user, uuid))
        )
        if device is None:
            raise errors.unknown_device(user, uuid)
        if not granted:
            raise errors.not_authorised(user, uuid)
        hold = self.transport.factory.hold
        self.device = await hold.through(
            lambda: upstream.connect(reactor, self.settings, device), self.record, lambda: self.stopped
        )
        metrics.DEVICE_SETUP.observe(time.monotonic() - chosen)
        if self.stopped:  # the user left while the device was being reached
            self.device.transport.loseConnection()
            return
        self.transport.backpressure.watch(self.device.transport)
        self.relay.attach(self.device.sendPacket)
        self.device.connection.deliver_to(self._from_device)
        self.device.on_lost = self._device_lost

    def _relay_all(self, held: list[tuple[int, bytes]]) -> None:
        self.handle = self.relay.from_user
        for number, payload in held:
            self._deliver(number, payload)

    def _refuse(
        self, problem: errors.ProxyError, held: list[tuple[int, bytes]], failed: bool = True
    ) -> Refusal:
        if failed:
            self.record.result = problem.code
        refusal = Refusal(problem, self.to_user)
        self.handle = refusal.handle
        for number, payload in held:
            self._deliver(number, payload)
        self._close_later(problem)  # the user has that long to be told (``ssh -N``: never)
        return refusal

    def _chosen(self, uuid: str | None) -> None:
        self._stop_waiting()
        if uuid is None:
            self._refuse_bridge(errors.usage())
            return

        def reached(_) -> None:
            self.bridge.open_on_device(
                ready, lambda message: self._refuse_bridge(errors.session_refused(message))
            )

        def ready() -> None:
            self.handle = self.relay.from_user
            self.bridge.replay(self._deliver)

        self._reach(uuid).addCallbacks(reached, lambda failure: self._refuse_bridge(failure.value))

    def _refuse_bridge(self, problem: errors.ProxyError) -> None:
        link = self.bridge.link
        refusal = self._refuse(problem, [])
        refusal.adopt(link.local, link.peer)
        self.bridge.replay(self._deliver)
        if self.device is not None:
            self.device.transport.loseConnection()

    def _device_lost(self, why: str) -> None:
        """The device's connection is gone: once what it sent before has reached the user (a slow
        reader may still have up to the relay's buffer of it to take), ``_device_gone``."""
        if self.stopped or self.record.result != "ok" or self.deadline is not None:
            return
        if not self.relay.holding_for_user():
            self._device_gone(why)
            return
        # Told now, the user would lose the end of the output and its exit status. Not reading,
        # it is told after no_device_timeout all the same.
        self.relay.drained = lambda: self._device_gone(why)
        self.deadline = reactor.callLater(self.settings.limits.no_device_timeout, self._device_gone, why)

    def _device_gone(self, why: str) -> None:
        """Tell each session under way why it ended; without one, disconnect saying why.

        Forwarded channels just close, and channels the device had not yet confirmed fail to
        open. Anything the user opens afterwards is refused with the same line. With no session
        channel (``ssh -N -L``) only a disconnect reaches the user.
        """
        self._stop_waiting()
        self.relay.drained = None
        if self.stopped or self.record.result != "ok":  # gone, or already told why
            return
        problem = errors.device_closed(self.record.device, why)
        if self.channels.finished():  # it closed after the sessions had ended: nothing failed
            self._refuse(problem, [], failed=False)  # what the user opens now is refused, and then they go
            return
        if self.handle != self.relay.from_user:  # the balena form, before the device's channel opened
            self._refuse_bridge(problem)
            return
        refusal = self._refuse(problem, [])
        refusal.next_id = self.relay.user.next_id  # new channels must not reuse a number in use
        told = False
        for peer, channel in list(self.channels.by_peer.items()):
            if channel.local is None:
                failure = wire.open_failure(peer, wire.OPEN_CONNECT_FAILED, problem.message)
                self.to_user(wire.CHANNEL_OPEN_FAILURE, failure)
            elif channel.sent_close:
                continue
            elif channel.session:
                refusal.tell(channel.local, peer, channel.pty)
                told = True
            else:
                self.to_user(wire.CHANNEL_CLOSE, wire.u32.pack(peer))
        if not told:
            self.transport.sendDisconnect(transport.DISCONNECT_CONNECTION_LOST, problem.message.encode())

    def serviceStopped(self) -> None:
        self.stopped = True
        self._stop_waiting()
        if self.device is not None and self.device.transport.connected:
            self.device.transport.loseConnection()
        self.record.emit(self.relay.bytes_to_device, self.relay.bytes_to_user)
        metrics.session_ended(self.record, self.relay.bytes_to_device, self.relay.bytes_to_user)
