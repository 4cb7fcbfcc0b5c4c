"""A Twisted Conch client's login to the device proxy, as ssh_probe and the web terminal make it.

Both log in as ``USER+UUID`` with one key of their own and then open one channel. The proxy's
host key must be one of the ``*.pub`` of its host-keys directory (all workers share them), so
nothing is trusted on first use; the transport speaks the proxy's packet layer (its AEAD
ciphers) with the proxy's trimmed algorithm lists. Conch's ``twisted.conch.client.default`` is
not used: it prompts on /dev/tty.
"""

import typing
from pathlib import Path

from twisted.conch.ssh import connection, keys, transport, userauth
from twisted.internet import defer, endpoints, error, protocol

from services.shared.errors import ServiceError
from services.ssh_proxy import algorithms, packets


def known_host_keys(directory: str) -> set[bytes]:
    """The blobs of the proxy's public host keys; ServiceError if there are none to check against."""
    found = set()
    for path in sorted(Path(directory).glob("*.pub")):
        try:
            found.add(keys.Key.fromFile(str(path)).blob())
        except Exception:  # a bad file is one key fewer, never a key accepted
            continue
    if not found:
        raise ServiceError(f"no host keys of the proxy in {directory} (*.pub)")
    return found


class OneKeyAuth(userauth.SSHUserAuthClient):
    """Public-key login with one key, offered once; ``refused()`` when the proxy asks for another."""

    preferredOrder = [b"publickey"]

    def __init__(self, login: bytes, key: keys.Key, refused: typing.Callable[[], None], instance) -> None:
        super().__init__(login, instance)
        self.key = key
        self.refused = refused
        self.offered = False

    def getPublicKey(self):
        if self.offered:
            self.refused()
            return None
        self.offered = True
        return self.key.public()

    def getPrivateKey(self):
        return defer.succeed(self.key)


class OneChannel(connection.SSHConnection):
    """The connection once logged in: it opens ``channel``."""

    def __init__(self, channel) -> None:
        super().__init__()
        self.channel = channel

    def serviceStarted(self) -> None:
        super().serviceStarted()
        self.openChannel(self.channel)


class ProxyTransport(packets.PacketLayer, transport.SSHClientTransport):
    """A client's transport to the proxy: it accepts only ``host_keys`` (read from ``directory``;
    ``refused(problem)`` is told of any other), then logs in as ``auth`` says."""

    def __init__(
        self,
        host_keys: set[bytes],
        directory: str,
        refused: typing.Callable[[str], None],
        auth: typing.Callable[[], OneKeyAuth],
    ) -> None:
        self.host_keys = host_keys
        self.directory = directory
        self.refused = refused
        self.auth = auth
        algorithms.trim(self)

    def verifyHostKey(self, hostKey: bytes, fingerprint: bytes) -> defer.Deferred:
        if hostKey in self.host_keys:
            return defer.succeed(True)
        self.refused(f"the SSH proxy's host key is not one of those in {self.directory}")
        return defer.fail(error.ConnectionAborted())

    def connectionSecure(self) -> None:
        self.requestService(self.auth())


async def connect(
    reactor, host: str, port: int, timeout: float, transport: typing.Callable[[], ProxyTransport]
):
    """The connected transport; ServiceError ``cannot reach the SSH proxy at HOST:PORT: WHY`` if not."""
    endpoint = endpoints.HostnameEndpoint(reactor, host, port, timeout=timeout)
    try:
        return await endpoint.connect(protocol.Factory.forProtocol(transport))
    except Exception as problem:
        why = "connection refused" if isinstance(problem, error.ConnectionRefusedError) else str(problem)
        raise ServiceError(f"cannot reach the SSH proxy at {host}:{port}: {why.rstrip('.')}") from None
