"""A hostile SSH client for the proxy's log-safety tests: Conch's own client transport, with every
field a peer controls taken from a plan the test writes.

The fields: the version string, the KEXINIT name lists, the service name, and after key exchange
debug and ignore messages, user-auth requests (user, service, method, algorithm, blob,
signature), a real public-key login, global requests, channel types, channel requests and the
disconnect reason. ``python -m tests.ssh.hostile_client PORT USER_KEY`` reads the plan (a list
of ``Connection``, see ``encode``) as JSON on stdin, runs the connections one after the other,
and prints one JSON line per connection: the message numbers the proxy answered with, whether
the login step succeeded, and whether the proxy closed the connection. The client runs its own
reactor in its own process, so the test process never runs one. Every wait is bounded.
"""

import base64
import json
import struct
import sys

import attrs
from twisted.conch.ssh import connection, keys, service, transport, userauth
from twisted.conch.ssh.common import NS
from twisted.internet import defer, endpoints, task

ANSWER_TIMEOUT = 3.0  # seconds to wait for the proxy's answer to one step
CONNECTION_TIMEOUT = 20.0  # seconds for a whole connection, handshake to close

_ANSWERS = {
    "auth": {userauth.MSG_USERAUTH_FAILURE, userauth.MSG_USERAUTH_SUCCESS, userauth.MSG_USERAUTH_PK_OK},
    "global": {connection.MSG_REQUEST_SUCCESS, connection.MSG_REQUEST_FAILURE},
    "open": {connection.MSG_CHANNEL_OPEN_CONFIRMATION, connection.MSG_CHANNEL_OPEN_FAILURE},
    "request": {connection.MSG_CHANNEL_SUCCESS, connection.MSG_CHANNEL_FAILURE},
}


@attrs.frozen
class Connection:
    """One connection of the plan.

    ``kex`` maps a transport attribute (``supportedCiphers``...) to extra names put before
    Conch's own (``replace_kex``: instead of them, so the negotiation fails). ``steps`` run once
    the transport is secure and ``service`` is accepted: ``("debug", text)``, ``("ignore", data)``,
    ``("auth", user, service, method, data)``, ``("login", user)``, ``("global", name, data)``,
    ``("open", kind, extra[, window])``, ``("request", name, data)`` (on the last channel opened),
    ``("packet", number, payload)``, ``("stop-reading",)`` and ``("read",)`` (a client that does
    not read what it is sent, for a while) and ``("sleep", seconds)``. The connection ends with a
    disconnect giving ``reason``.
    """

    version: bytes | None = None
    kex: dict[str, list[bytes]] = attrs.field(factory=dict)
    replace_kex: bool = False
    service: bytes = b"ssh-userauth"
    steps: tuple[tuple, ...] = ()
    reason: bytes = b"bye"


def _to_json(value):
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    return value


def _from_json(value):
    if isinstance(value, dict):
        if set(value) == {"b64"}:
            return base64.b64decode(value["b64"])
        return {key: _from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return tuple(_from_json(item) for item in value)
    return value


def encode(plan: list[Connection]) -> str:
    """The plan as this program reads it on stdin."""
    return json.dumps([_to_json(attrs.asdict(connection, recurse=False)) for connection in plan])


def decode(text: str) -> list[Connection]:
    connections = []
    for fields in json.loads(text):
        fields = _from_json(fields)
        fields["kex"] = {name: list(names) for name, names in fields["kex"].items()}
        connections.append(Connection(**fields))
    return connections


class _Script(service.SSHService):
    """The service the client runs after key exchange: it plays the steps and hears every answer."""

    def __init__(self, client: "HostileClient") -> None:
        self.client = client
        self.name = client.plan.service

    def serviceStarted(self) -> None:
        self.client.secure.callback(None)

    def packetReceived(self, number: int, payload: bytes) -> None:
        self.client.heard(number, payload)


class HostileClient(transport.SSHClientTransport):
    def __init__(self, reactor, plan: Connection, user_key: keys.Key) -> None:
        self.reactor = reactor
        self.plan = plan
        self.user_key = user_key
        self.secure: defer.Deferred = defer.Deferred()
        self.closed: defer.Deferred = defer.Deferred()
        self.received: list[int] = []
        self.login: str | None = None
        self.closed_by_proxy = False
        self.channel: int | None = None
        self._waiting: tuple[set[int], defer.Deferred] | None = None
        if plan.version is not None:
            self.ourVersionString = plan.version
        for name, extra in plan.kex.items():
            setattr(self, name, list(extra) if plan.replace_kex else [*extra, *getattr(self, name)])

    def verifyHostKey(self, hostKey: bytes, fingerprint: bytes) -> defer.Deferred:
        return defer.succeed(True)

    def connectionSecure(self) -> None:
        self.requestService(_Script(self))

    def receiveError(self, reasonCode: int, description: bytes) -> None:
        self.closed_by_proxy = True

    def connectionLost(self, reason=None) -> None:
        super().connectionLost(reason)
        for waiter in (self.secure, self.closed):
            if not waiter.called:
                waiter.callback(None)
        if self._waiting is not None:
            waiter, self._waiting = self._waiting[1], None
            waiter.callback(None)

    def heard(self, number: int, payload: bytes) -> None:
        self.received.append(number)
        if number == connection.MSG_CHANNEL_OPEN_CONFIRMATION:  # recipient, sender (the proxy's id), ...
            self.channel = struct.unpack(">2L", payload[:8])[1]
        if self._waiting is not None and number in self._waiting[0]:
            waiter, self._waiting = self._waiting[1], None
            waiter.callback(number)

    async def answer(self, numbers: set[int]) -> int | None:
        """The number of the proxy's answer, None if it closed the connection or said nothing."""
        if not self.transport.connected:
            return None
        waiting = defer.Deferred()
        self._waiting = (numbers, waiting)
        try:
            return await waiting.addTimeout(ANSWER_TIMEOUT, self.reactor)
        except defer.TimeoutError:
            self._waiting = None
            return None

    async def play(self) -> None:
        await self.secure
        for step in self.plan.steps:
            if not self.transport.connected:
                return
            await self._step(*step)
        reason = struct.pack(">L", transport.DISCONNECT_BY_APPLICATION) + NS(self.plan.reason) + NS(b"")
        if self.transport.connected:
            self.sendPacket(transport.MSG_DISCONNECT, reason)
        await self.closed

    async def _step(self, kind: str, *args) -> None:
        if kind == "debug":
            self.sendPacket(transport.MSG_DEBUG, b"\x01" + NS(args[0]) + NS(b""))
        elif kind == "ignore":
            self.sendPacket(transport.MSG_IGNORE, NS(args[0]))
        elif kind == "auth":
            user, next_service, method, data = args
            self.sendPacket(userauth.MSG_USERAUTH_REQUEST, NS(user) + NS(next_service) + NS(method) + data)
            await self.answer(_ANSWERS["auth"])
        elif kind == "login":
            await self._login(args[0])
        elif kind == "global":
            self.sendPacket(connection.MSG_GLOBAL_REQUEST, NS(args[0]) + b"\x01" + args[1])
            await self.answer(_ANSWERS["global"])
        elif kind == "open":
            self.channel = None
            window = args[2] if len(args) > 2 else 2**21
            self.sendPacket(
                connection.MSG_CHANNEL_OPEN, NS(args[0]) + struct.pack(">3L", 7, window, 32768) + args[1]
            )
            await self.answer(_ANSWERS["open"])
        elif kind == "request":
            if self.channel is not None:
                header = struct.pack(">L", self.channel) + NS(args[0]) + b"\x01"
                self.sendPacket(connection.MSG_CHANNEL_REQUEST, header + args[1])
                await self.answer(_ANSWERS["request"])
        elif kind == "packet":
            self.sendPacket(*args)
        elif kind == "stop-reading":
            self.transport.pauseProducing()
        elif kind == "read":
            self.transport.resumeProducing()
        elif kind == "sleep":
            await task.deferLater(self.reactor, args[0])
        else:
            raise ValueError(f"unknown step {kind!r}")

    async def _login(self, user: bytes) -> None:
        """A real public-key login with the user's key: signed over this session's identifier."""
        algorithm, blob = self.user_key.sshType(), self.user_key.public().blob()
        request = NS(user) + NS(b"ssh-connection") + NS(b"publickey") + b"\x01" + NS(algorithm) + NS(blob)
        signed = NS(self.sessionID) + bytes((userauth.MSG_USERAUTH_REQUEST,)) + request
        self.sendPacket(userauth.MSG_USERAUTH_REQUEST, request + NS(self.user_key.sign(signed)))
        answer = await self.answer(_ANSWERS["auth"])
        self.login = "success" if answer == userauth.MSG_USERAUTH_SUCCESS else "failure"


async def _run_one(reactor, port: int, plan: Connection, user_key: keys.Key) -> dict:
    client = HostileClient(reactor, plan, user_key)
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=5)
    await endpoints.connectProtocol(endpoint, client)
    timer = reactor.callLater(CONNECTION_TIMEOUT, client.transport.abortConnection)
    try:
        await client.play()
    finally:
        if timer.active():
            timer.cancel()
    return {"received": client.received, "login": client.login, "closed_by_proxy": client.closed_by_proxy}


async def _run(reactor, port: int, key_path: str, plan_text: str) -> None:
    user_key = keys.Key.fromFile(key_path)
    for plan in decode(plan_text):
        print(json.dumps(await _run_one(reactor, port, plan, user_key)), flush=True)


def main() -> None:
    port, key_path = int(sys.argv[1]), sys.argv[2]
    plan_text = sys.stdin.read()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(_run(reactor, port, key_path, plan_text)))


if __name__ == "__main__":
    main()
