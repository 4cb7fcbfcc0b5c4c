"""A Twisted Conch client for the tests that need what OpenSSH's client will not do.

``python -m tests.ssh.conch_client --port P --user U --key KEY ACTION [N]``, one JSON line on
stdout when the connection ends or ``--timeout`` passes: what the proxy answered. Actions:

- ``stall``: complete the key exchange, then send nothing (the login grace time must end it);
- ``login``: Conch's own public-key login: ask whether the key may sign, then sign (RSA as
  SHA-1 ``ssh-rsa``, Conch's default);
- ``login-signed``: sign at once with the key's ``sshType`` (``ssh-rsa``), without asking;
- ``login-mislabelled``: sign at once with ``ssh-rsa`` but name ``rsa-sha2-256`` in the request;
- ``pipeline N``: send N requests at once (publickey queries, ``none`` between), not waiting;
- ``sessions N``: log in, open N session channels at once and send nothing on them;
- ``held N``: log in, open one session channel, send N bytes of ``env`` requests on it.

Sessions end the client once each open is answered, or with ``--wait`` when the proxy closes.
"""

import argparse
import json
import sys

from twisted.conch import error
from twisted.conch.ssh import channel, connection, keys, transport, userauth
from twisted.conch.ssh.common import NS
from twisted.internet import defer, endpoints, protocol, reactor

from services.ssh_proxy import wire

outcome: dict = {
    "logged_in": False,
    "confirmed": 0,
    "failed": [],
    "auth_failures": 0,
    "key_accepted": 0,
    "disconnect": None,
}


def finish() -> None:
    if reactor.running:
        reactor.stop()


class Session(channel.SSHChannel):
    name = b"session"

    def channelOpen(self, specific_data: bytes) -> None:
        outcome["confirmed"] += 1
        if options.action == "held":
            value = b"x" * 1000
            for index in range(options.n // len(value) + 1):
                self.conn.sendRequest(self, b"env", NS(b"V%d" % index) + NS(value))
        self.answered()

    def openFailed(self, reason) -> None:
        if not isinstance(reason, error.ConchError):  # the connection ended before an answer
            return
        outcome["failed"].append(reason.value.decode() if isinstance(reason.value, bytes) else reason.value)
        self.answered()

    def answered(self) -> None:
        if options.action == "sessions" and not options.wait:
            if outcome["confirmed"] + len(outcome["failed"]) == options.n:
                self.conn.transport.loseConnection()


class Connection(connection.SSHConnection):
    def serviceStarted(self) -> None:
        super().serviceStarted()
        outcome["logged_in"] = True
        if options.action.startswith("login"):
            self.transport.loseConnection()
            return
        for _ in range(options.n if options.action == "sessions" else 1):
            self.openChannel(Session(conn=self))


class Auth(userauth.SSHUserAuthClient):
    preferredOrder = [b"publickey"]

    def __init__(self, user: bytes, instance) -> None:
        super().__init__(user, instance)
        self.offered = False

    def getPublicKey(self):
        if self.offered:
            return None
        self.offered = True
        return key.public()

    def getPrivateKey(self):
        return defer.succeed(key)

    def auth_publickey(self):
        if options.action not in ("login-signed", "login-mislabelled"):
            return super().auth_publickey()
        if self.offered:
            return defer.succeed(False)
        self.offered = True
        algorithm = b"rsa-sha2-256" if options.action == "login-mislabelled" else key.sshType()
        blob = key.blob()
        signed = wire.publickey_to_sign(
            self.transport.sessionID, self.user, self.instance.name, algorithm, blob
        )
        self.askForAuth(b"publickey", b"\x01" + NS(algorithm) + NS(blob) + NS(key.sign(signed)))
        return defer.succeed(True)

    def ssh_USERAUTH_FAILURE(self, packet: bytes) -> None:
        outcome["auth_failures"] += 1
        return super().ssh_USERAUTH_FAILURE(packet)


class Pipeline(userauth.SSHUserAuthClient):
    """Sends every request at once (publickey queries, and ``none`` between them); counts the answers."""

    def serviceStarted(self) -> None:
        query = b"\x00" + NS(key.sshType()) + NS(key.blob())
        for index in range(options.n):
            self.askForAuth(*((b"none", b"") if index % 2 else (b"publickey", query)))

    def ssh_USERAUTH_FAILURE(self, packet: bytes) -> None:
        outcome["auth_failures"] += 1
        self.answered()

    def ssh_USERAUTH_PK_OK(self, packet: bytes) -> None:
        outcome["key_accepted"] += 1
        self.answered()

    def answered(self) -> None:
        if outcome["auth_failures"] + outcome["key_accepted"] == options.n:
            self.transport.loseConnection()


class Client(transport.SSHClientTransport):
    def verifyHostKey(self, blob: bytes, fingerprint) -> defer.Deferred:
        return defer.succeed(True)

    def connectionSecure(self) -> None:
        if options.action == "stall":
            return
        service = Pipeline if options.action == "pipeline" else Auth
        self.requestService(service(options.user.encode(), Connection()))

    def receiveError(self, reason_code: int, description: bytes) -> None:
        outcome["disconnect"] = description.decode("utf-8", "replace")

    def connectionLost(self, reason=None) -> None:
        super().connectionLost(reason)
        finish()


def main() -> int:
    global options, key
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="alice")
    parser.add_argument("--key", required=True, help="private key file (OpenSSH format)")
    parser.add_argument("--timeout", type=float, default=20)
    parser.add_argument("--wait", action="store_true", help="keep the connection until the proxy closes it")
    actions = ("stall", "login", "login-signed", "login-mislabelled", "pipeline", "sessions", "held")
    parser.add_argument("action", choices=actions)
    parser.add_argument("n", type=int, nargs="?", default=1)
    options = parser.parse_args()
    key = keys.Key.fromFile(options.key)
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", options.port)
    endpoint.connect(protocol.Factory.forProtocol(Client)).addErrback(lambda _: finish())
    reactor.callLater(options.timeout, finish)
    reactor.run()
    print(json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
