"""The proxy's own SSH connection to a device: pinned host key, and the shared agent's keys only.

The agent signs; the proxy never sees a private key. Conch's client and agent client sign RSA as
SHA-1 ``ssh-rsa``, which OpenSSH 8.8+ refuses, so RSA signatures are requested from the agent as
rsa-sha2-512/256 (sign flags 4/2) according to the device's ``server-sig-algs``, and the request
names that algorithm. Everything that can go wrong is turned into one ``ProxyError``.
"""

from twisted.conch.ssh import keys, service, transport, userauth
from twisted.conch.ssh.common import NS, getNS
from twisted.internet import defer, endpoints, error, protocol

from services.registry import Device
from services.shared import agent_client, sshkeys
from services.shared.errors import ServiceError
from services.ssh_proxy import algorithms, errors, packets, wire
from services.ssh_proxy.settings import Settings

_RSA_SIGNATURES = ((b"rsa-sha2-512", 4), (b"rsa-sha2-256", 2))


def signature_algorithm(key: keys.Key, server_sig_algs: bytes | None) -> tuple[bytes, int]:
    """The algorithm name to send and the agent sign flags for ``key`` on this server."""
    if key.type() != "RSA":
        return key.sshType(), 0
    accepted = server_sig_algs.split(b",") if server_sig_algs else []
    for name, flags in _RSA_SIGNATURES:
        if name in accepted:
            return name, flags
    return _RSA_SIGNATURES[1]  # no list from the server: every current sshd takes rsa-sha2-256


async def identities(reactor, settings: Settings) -> tuple[agent_client.AgentClient, list[keys.Key]]:
    """Connect to the agent and list its keys; ProxyError if it is unreachable or holds none."""
    path = settings.agent_path
    try:
        client = await agent_client.connect(reactor, path, settings.agent_timeout)
        listed = await agent_client.call(
            reactor, client, path, "list identities", client.requestIdentities(), settings.agent_timeout
        )
    except ServiceError as failure:
        raise errors.agent_unavailable(failure.message) from None
    found = []
    for blob, _comment in listed:
        try:
            found.append(keys.Key.fromString(blob))
        except Exception:  # a key type Conch cannot use (e.g. a security key): skip it
            continue
    if not found:
        client.transport.loseConnection()
        raise errors.no_identities()
    return client, found


class _AgentUserAuth(userauth.SSHUserAuthClient):
    """Public-key authentication with the agent's identities, one signed request per key."""

    def __init__(self, device: "DeviceTransport", instance: service.SSHService) -> None:
        super().__init__(device.device.login.encode(), instance)
        self.device = device
        self.remaining = list(device.identities)
        self.tried: list[str] = []
        self.agent_failed = False

    def ssh_USERAUTH_FAILURE(self, packet: bytes) -> None:
        methods = getNS(packet)[0].split(b",")
        if b"publickey" not in methods or not self.remaining:
            tried = ", ".join(self.tried) or "no key accepted by the device's methods"
            self.device.refused(tried, self.agent_failed)
            return
        key = self.remaining.pop(0)
        self.tried.append(sshkeys.describe(key))
        defer.ensureDeferred(self._offer(key)).addErrback(self._sign_failed)

    def ssh_USERAUTH_BANNER(self, packet: bytes) -> None:
        """The device's banner is for people logging in to it directly, not for proxied users."""

    async def _offer(self, key: keys.Key) -> None:
        algorithm, flags = signature_algorithm(key, self.transport.peerExtensions.get(b"server-sig-algs"))
        blob = key.blob()
        signed = wire.publickey_to_sign(
            self.transport.sessionID, self.user, self.instance.name, algorithm, blob
        )
        device = self.device
        signature = await agent_client.sign(
            device.reactor,
            device.agent,
            device.settings.agent_path,
            blob,
            signed,
            flags,
            device.settings.agent_timeout,
        )
        self.askForAuth(b"publickey", b"\x01" + NS(algorithm) + NS(blob) + NS(signature))

    def _sign_failed(self, reason) -> None:
        """The agent would not sign (key removed since listing, agent gone): try the next key."""
        self.tried[-1] += " (the agent did not sign)"
        self.agent_failed = True
        self.ssh_USERAUTH_FAILURE(NS(b"publickey") + b"\x00")


class _DeviceConnection(service.SSHService):
    """The device's ssh-connection service: holds packets until the relay is attached."""

    name = b"ssh-connection"

    def __init__(self, device: "DeviceTransport") -> None:
        self.device = device
        self.held: list[tuple[int, bytes]] | None = []
        self.deliver = self.held_packet

    def held_packet(self, number: int, payload: bytes) -> None:
        self.held.append((number, payload))

    def serviceStarted(self) -> None:
        self.device.authenticated()

    def packetReceived(self, number: int, payload: bytes) -> None:
        self.deliver(number, payload)

    def deliver_to(self, deliver) -> None:
        held, self.held = self.held, None
        self.deliver = deliver
        for number, payload in held:
            deliver(number, payload)


class DeviceTransport(packets.PacketLayer, transport.SSHClientTransport):
    """One connection to one device, reporting success or a ProxyError on ``outcome`` once."""

    def __init__(self, reactor, settings: Settings, device: Device, agent, identities) -> None:
        self.reactor = reactor
        self.settings = settings
        self.device = device
        self.agent = agent
        self.identities = identities
        self.outcome: defer.Deferred = defer.Deferred()
        self.on_lost = lambda why: None
        self.connection = _DeviceConnection(self)
        self._why_closed = "connection closed during the SSH handshake"
        self.pinning: defer.Deferred = defer.succeed(None)
        algorithms.trim(self)
        if device.host_key is not None:
            pinned = keys.Key.fromString(device.host_key.encode())
            self.supportedPublicKeys = [
                name for name in pinned.supportedSignatureAlgorithms() if name in self.supportedPublicKeys
            ]
        else:  # trust on first use: prefer the key type OpenSSH itself would pin
            self.supportedPublicKeys.sort(key=lambda name: name != b"ssh-ed25519")

    def _settle(self, result) -> None:
        if self.outcome.called:
            return
        if isinstance(result, Exception):
            self.outcome.errback(result)
        else:
            self.outcome.callback(result)

    def fail(self, problem: errors.ProxyError) -> None:
        self._settle(problem)
        self.transport.abortConnection()

    def verifyHostKey(self, blob: bytes, fingerprint: bytes) -> defer.Deferred:
        """Accept the pinned key only; under TOFU, pin the key seen (login waits for the pin).

        The answer must be synchronous: Conch goes on reading the packets that follow the key
        exchange reply before a later answer arrives, and garbles the stream.
        """
        presented = keys.Key.fromString(blob)
        if self.device.host_key is None:
            line = presented.toString("OPENSSH").decode()
            self.pinning = self.settings.registry.call(
                lambda store: store.pin_host_key(self.device.uuid, line)
            ).addCallback(self._pinned, presented)
            return defer.succeed(True)
        pinned = keys.Key.fromString(self.device.host_key.encode())
        if pinned.blob() == blob:
            return defer.succeed(True)
        self._settle(self._mismatch(pinned, presented))
        # Disconnect here rather than fail the Deferred: Conch would send the device a traceback.
        self.sendDisconnect(transport.DISCONNECT_HOST_KEY_NOT_VERIFIABLE, b"host key does not match the pin")
        return defer.Deferred()

    def _mismatch(self, pinned: keys.Key, presented: keys.Key) -> errors.ProxyError:
        return errors.host_key_mismatch(
            self.device.uuid, sshkeys.describe(pinned), sshkeys.describe(presented)
        )

    def _pinned(self, line: str, presented: keys.Key) -> None:
        """The pin in force after a first use. Another worker or pod may have pinned another key
        since the device was read: then this key is refused as any other mismatch is."""
        pinned = keys.Key.fromString(line.encode())
        if pinned.blob() != presented.blob():
            raise self._mismatch(pinned, presented)

    def connectionSecure(self) -> None:
        self.requestService(_AgentUserAuth(self, self.connection))

    def refused(self, tried: str, agent_failed: bool) -> None:
        self.fail(errors.keys_refused(self.device.uuid, self.device.login, tried, agent_failed))

    def authenticated(self) -> None:
        self._why_closed = "connection lost mid-session"  # unless the device says why
        self.agent.transport.loseConnection()
        self.pinning.addCallbacks(lambda _: self._settle(self), lambda failure: self.fail(failure.value))

    def receiveError(self, reasonCode: int, description: bytes) -> None:
        self._why_closed = description.decode("utf-8", "replace") or f"disconnect code {reasonCode}"

    def connectionLost(self, reason=None) -> None:
        super().connectionLost(reason)
        self.pinning.addErrback(lambda _: None)  # a pin that failed after the login failed: moot
        if self.agent.transport.connected:
            self.agent.transport.loseConnection()
        if self.outcome.called:
            self.on_lost(self._why_closed)
        else:
            self._settle(errors.device_closed(self.device.uuid, self._why_closed))


def _unreachable_reason(problem: Exception, settings: Settings) -> str:
    if isinstance(problem, error.ConnectionRefusedError):
        return "connection refused"
    if isinstance(problem, (error.TimeoutError, defer.TimeoutError)):
        return f"no answer within {settings.connect_timeout:g}s"
    if isinstance(problem, error.DNSLookupError):
        return "name not resolved"
    return str(problem).rstrip(".") or type(problem).__name__


async def connect(reactor, settings: Settings, device: Device) -> DeviceTransport:
    """The agent's identities, then, in the device's turn (``device_logins``), ``dial``: one
    attempt of a connection to the device (the turn is the device's, not held while the agent
    answers)."""
    agent, found = await identities(reactor, settings)
    async with settings.device_logins.turn(reactor, device, settings.handshake_timeout):
        return await dial(reactor, settings, device, agent, found)


async def dial(reactor, settings: Settings, device: Device, agent, identities) -> DeviceTransport:
    """Connect and authenticate to ``device``; ProxyError saying why it failed."""
    endpoint = endpoints.HostnameEndpoint(
        reactor, device.address, device.port, timeout=settings.connect_timeout
    )
    factory = protocol.Factory.forProtocol(
        lambda: DeviceTransport(reactor, settings, device, agent, identities)
    )
    try:
        proto = await endpoint.connect(factory)
    except Exception as problem:
        agent.transport.loseConnection()
        raise errors.unreachable(
            device.uuid, device.address, device.port, _unreachable_reason(problem, settings)
        ) from None
    timer = reactor.callLater(
        settings.handshake_timeout,
        lambda: proto.fail(
            errors.unreachable(
                device.uuid,
                device.address,
                device.port,
                f"no SSH login within {settings.handshake_timeout:g}s",
            )
        ),
    )
    try:
        return await proto.outcome
    finally:
        if timer.active():
            timer.cancel()
