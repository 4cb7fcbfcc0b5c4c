"""The listening side: host keys, trimmed algorithms, bounded logins, and the socket to serve.

Before login a client is anyone, so what it can make a worker hold is bounded as OpenSSH bounds
it (``limits``): connections not yet logged in are admitted by ``MaxStartups``, each has
``LoginGraceTime`` from accept to the end of authentication, and ``MaxAuthTries`` failures.
"""

import time

from twisted.conch.ssh import factory, keys, transport
from twisted.internet import defer, endpoints, protocol, reactor
from twisted.logger import Logger

from services.shared.errors import ServiceError
from services.shared.lograte import LogRate
from services.ssh_proxy import algorithms, metrics, packets, session
from services.ssh_proxy.auth import portal
from services.ssh_proxy.backpressure import Backpressure
from services.ssh_proxy.hold import Hold
from services.ssh_proxy.publickey import PublicKeyAuth
from services.ssh_proxy.settings import Settings

_log = Logger()


class UserAuth(PublicKeyAuth):
    """Conch's user authentication, counted and paced as OpenSSH's.

    The transport's login grace timer covers authentication, so Conch's own timer (10 hours by
    default) is cancelled. Conch drops the connection when failures *exceed* its limit, OpenSSH
    when they reach ``MaxAuthTries``: Conch is given one less. Conch also starts checking every
    request as it arrives, so one connection could have thousands of registry lookups queued;
    OpenSSH answers one request at a time, and so does this: a request that arrives while
    another is being checked waits, and a client with ``MaxAuthTries`` requests waiting is
    dropped (OpenSSH's client sends one and waits for the answer).
    """

    def serviceStarted(self) -> None:
        self.attemptsBeforeDisconnect = self.transport.factory.settings.limits.max_auth_tries - 1
        super().serviceStarted()
        self._cancelLoginTimeout.cancel()
        self._cancelLoginTimeout = None
        self.checking = False
        self.waiting: list[bytes] = []

    def ssh_USERAUTH_REQUEST(self, packet: bytes) -> None:
        if self.checking:
            if len(self.waiting) > self.attemptsBeforeDisconnect:
                self.transport.sendDisconnect(
                    transport.DISCONNECT_PROTOCOL_ERROR, b"too many authentication requests at once"
                )
                return
            self.waiting.append(packet)
            return
        self._check(packet)

    def _check(self, packet: bytes) -> None:
        checked = super().ssh_USERAUTH_REQUEST(packet)
        if checked is not None and not checked.called:  # ``none`` is answered at once
            self.checking = True
            checked.addBoth(self._checked)

    def _checked(self, result):
        self.checking = False
        while self.waiting and not self.checking and self._still_authenticating():
            self._check(self.waiting.pop(0))
        return result

    def _still_authenticating(self) -> bool:
        return self.transport.service is self and not self.transport.transport.disconnecting

    def serviceStopped(self) -> None:
        self.waiting.clear()
        super().serviceStopped()


class UserTransport(packets.PacketLayer, transport.SSHServerTransport):
    """The user's side of the proxy: timed from accept until the user has logged in."""

    logging_in = True  # from accept until logged in: counted by MaxStartups, timed by the grace

    def connectionMade(self) -> None:
        self.accepted = time.monotonic()
        grace = self.factory.settings.limits.login_grace_time
        self.grace = reactor.callLater(grace, self._grace_over, grace)
        self.backpressure = Backpressure()  # the device's connection joins it once dialled
        self.backpressure.watch(self.transport)
        self.factory.open.add(self)
        super().connectionMade()

    def _grace_over(self, grace: float) -> None:
        self.grace = None
        self.sendDisconnect(
            transport.DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
            f"no login within the login grace time ({grace:g}s)".encode(),
        )

    def setService(self, service) -> None:
        if service.name == b"ssh-connection":  # Conch starts it only for an authenticated user
            metrics.HANDSHAKE.observe(time.monotonic() - self.accepted)
            self._logged_in()
        super().setService(service)

    def _logged_in(self) -> None:
        """Leave the pre-login phase (logged in, or gone): once, whichever comes first."""
        if not self.logging_in:
            return
        self.logging_in = False
        if self.grace is not None:
            self.grace.cancel()
            self.grace = None
        self.factory.left_startup()

    def connectionLost(self, reason=None) -> None:
        self._logged_in()
        super().connectionLost(reason)
        self.factory.closed(self)

    def ssh_SERVICE_REQUEST(self, packet: bytes) -> None:
        """One service request per connection (``ssh-userauth``), as OpenSSH allows.

        Conch accepts any number, and a new ``ssh-userauth`` replaces the current service: before
        login that restarted MaxAuthTries' count, after it dropped the user's connection service
        for a second login that no grace time bounds.
        """
        if self.service is not None:
            self.sendDisconnect(transport.DISCONNECT_PROTOCOL_ERROR, b"one service request per connection")
            return
        super().ssh_SERVICE_REQUEST(packet)

    def receiveError(self, reasonCode: int, description: bytes) -> None:
        """A user disconnecting is the normal end of a session, not an error to log."""


class ProxyFactory(factory.SSHFactory):
    protocol = UserTransport
    services = {b"ssh-userauth": UserAuth, b"ssh-connection": session.UserConnection}

    def __init__(self, settings: Settings, host_keys: dict[bytes, keys.Key], hold: Hold) -> None:
        self.settings = settings
        self.hold = hold
        self.open: set[UserTransport] = set()  # every user connection accepted and not yet closed
        self._idle: list[defer.Deferred] = []  # waiting for ``open`` to be empty
        self.portal = portal(settings.registry)
        self.privateKeys = host_keys
        self.publicKeys = {kind: key.public() for kind, key in host_keys.items()}
        self.primes = None  # no moduli: only fixed-group and elliptic-curve key exchanges
        self.unauthenticated = 0  # connections accepted and not yet logged in or gone
        self.dropped = 0  # connections dropped by MaxStartups since the last time it let all in
        self.dropping_since = 0.0  # when that began
        self.drop_log = LogRate(reactor.seconds)

    def buildProtocol(self, addr):
        """A new connection, or one told ``Exceeded MaxStartups`` and closed."""
        startups = self.settings.limits.max_startups
        if startups.drops(self.unauthenticated):
            self._dropping(f"{addr.host}:{addr.port}")
            return _Dropped()
        self.unauthenticated += 1
        proto = super().buildProtocol(addr)
        algorithms.trim(proto)
        return proto

    def _dropping(self, peer: str) -> None:
        """Log a throttling period as OpenSSH does, not each drop: when it begins, how it goes on
        at most every ``lograte.INTERVAL`` while it lasts, and when it ends (``left_startup``)."""
        self.dropped += 1
        if self.dropped == 1:
            self.dropping_since = reactor.seconds()
            self.drop_log.restart()
        if not self.drop_log.happened():
            return
        if self.dropped == 1:
            _log.warn(
                "MaxStartups {startups}: {count} connections not logged in, dropping new ones "
                "(the first from {peer})",
                startups=str(self.settings.limits.max_startups),
                count=self.unauthenticated,
                peer=peer,
            )
        else:
            _log.warn(
                "MaxStartups {startups}: {dropped} connections dropped in {seconds}s (the last from {peer})",
                startups=str(self.settings.limits.max_startups),
                dropped=self.dropped,
                seconds=round(reactor.seconds() - self.dropping_since),
                peer=peer,
            )

    def closed(self, connection: UserTransport) -> None:
        self.open.discard(connection)
        if not self.open:
            idle, self._idle = self._idle, []
            for waiting in idle:
                waiting.callback(None)

    def idle(self) -> defer.Deferred:
        """Fires once no user connection is open (at once if none is)."""
        if not self.open:
            return defer.succeed(None)
        waiting = defer.Deferred()
        self._idle.append(waiting)
        return waiting

    def left_startup(self) -> None:
        self.unauthenticated -= 1
        if self.dropped and self.unauthenticated < self.settings.limits.max_startups.start:
            _log.warn(
                "MaxStartups {startups}: accepting again after {seconds}s, {dropped} connections dropped",
                startups=str(self.settings.limits.max_startups),
                seconds=round(reactor.seconds() - self.dropping_since, 1),
                dropped=self.dropped,
            )
            self.dropped = 0


class _Dropped(protocol.Protocol):
    """A connection MaxStartups drops: told so before any version line, as OpenSSH tells it."""

    def connectionMade(self) -> None:
        self.transport.write(b"Exceeded MaxStartups\r\n")
        self.transport.loseConnection()


def listen(reactor, proxy: ProxyFactory, listen_on: tuple[str, int] | None) -> defer.Deferred:
    """Serve on the socket the supervisor handed down (LISTEN_FDS), else bind ``listen_on``.

    Importing ``twisted.internet.endpoints`` consumes LISTEN_FDS/LISTEN_PID from the environment
    (its systemd endpoint keeps them), so the handed-down socket is found through that endpoint.
    """
    try:
        endpoint = endpoints.serverFromString(reactor, "systemd:domain=INET:index=0")
    except IndexError:  # nothing handed down
        if listen_on is None:
            return defer.fail(ServiceError("no socket handed down (LISTEN_FDS) and no --listen given"))
        host, port = listen_on
        endpoint = endpoints.TCP4ServerEndpoint(reactor, port, interface=host)
    return endpoint.listen(proxy)

