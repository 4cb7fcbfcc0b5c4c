"""The listening side: host keys, trimmed algorithms, bounded logins, and the socket to serve.

Conch's defaults allow a 10-hour login and 20 attempts; OpenSSH allows 120 s and 6. A proxy in
front of a fleet takes the stricter side: 60 s and 6 attempts.
"""

import os
import socket

from twisted.conch.ssh import factory, keys, transport, userauth
from twisted.internet import defer, endpoints

from services.errors import Failure
from services.ssh_proxy import algorithms, packets, session
from services.ssh_proxy.auth import portal
from services.ssh_proxy.settings import Settings


class UserAuth(userauth.SSHUserAuthServer):
    loginTimeout = 60
    attemptsBeforeDisconnect = 6


class UserTransport(packets.PacketLayer, transport.SSHServerTransport):
    """The user's side of the proxy."""

    def receiveError(self, reasonCode: int, description: bytes) -> None:
        """A user disconnecting is the normal end of a session, not an error to log."""


class ProxyFactory(factory.SSHFactory):
    protocol = UserTransport
    services = {b"ssh-userauth": UserAuth, b"ssh-connection": session.UserConnection}

    def __init__(self, settings: Settings, host_keys: dict[bytes, keys.Key]) -> None:
        self.settings = settings
        self.portal = portal(settings.registry)
        self.privateKeys = host_keys
        self.publicKeys = {kind: key.public() for kind, key in host_keys.items()}
        self.primes = None  # no moduli: only fixed-group and elliptic-curve key exchanges

    def buildProtocol(self, addr):
        proto = super().buildProtocol(addr)
        algorithms.trim(proto)
        return proto


def listen(reactor, proxy: ProxyFactory, listen_on: tuple[str, int] | None) -> defer.Deferred:
    """Serve on the socket the supervisor handed down (LISTEN_FDS), else bind ``listen_on``.

    Importing ``twisted.internet.endpoints`` consumes LISTEN_FDS/LISTEN_PID from the environment
    (its systemd endpoint keeps them), so the handed-down socket is found through that endpoint.
    """
    try:
        endpoint = endpoints.serverFromString(reactor, "systemd:domain=INET:index=0")
    except IndexError:  # nothing handed down
        if listen_on is None:
            return defer.fail(Failure("no socket handed down (LISTEN_FDS) and no --listen given"))
        host, port = listen_on
        endpoint = endpoints.TCP4ServerEndpoint(reactor, port, interface=host)
    return endpoint.listen(proxy)


def notify_ready() -> None:
    """Tell the supervisor (or systemd) that the worker serves: ``READY=1`` on $NOTIFY_SOCKET."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    address = "\0" + path[1:] if path.startswith("@") else path
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"READY=1", address)
