"""A hostile device for the proxy's tests: a Conch SSH server that lets the proxy in, then answers
the first channel it opens with text the test chooses, where real sshd would never put it.

``python -m tests.ssh.hostile_device PORT HOST_KEY MODE TEXT`` serves on 127.0.0.1:PORT with the
private key HOST_KEY until killed. Any public key logs in (the proxy's signature is checked). MODE
``refuse`` answers a CHANNEL_OPEN with CHANNEL_OPEN_FAILURE and TEXT as the description;
``disconnect`` confirms the channel and disconnects with TEXT as the reason at its first request.
"""

import struct
import sys

from twisted.conch.error import ValidPublicKey
from twisted.conch.interfaces import IConchUser
from twisted.conch.ssh import factory, keys, service, transport, userauth
from twisted.conch.ssh.common import NS, getNS
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import ISSHPrivateKey
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet import defer, reactor
from zope.interface import implementer


@implementer(ICredentialsChecker)
class _AnyKey:
    """Every public key may log in, with a good signature."""

    credentialInterfaces = (ISSHPrivateKey,)

    def requestAvatarId(self, credentials):
        if credentials.signature is None:
            return defer.fail(ValidPublicKey())
        if keys.Key.fromString(credentials.blob).verify(credentials.signature, credentials.sigData):
            return defer.succeed(credentials.username)
        return defer.fail(UnauthorizedLogin())


@implementer(IRealm)
class _Realm:
    def requestAvatar(self, avatar_id, mind, *interfaces):
        return IConchUser, avatar_id, lambda: None


class _Connection(service.SSHService):
    name = b"ssh-connection"

    def packetReceived(self, number: int, payload: bytes) -> None:
        if number == 90:  # CHANNEL_OPEN
            sender = struct.unpack(">L", getNS(payload)[1][:4])[0]
            if MODE == "refuse":
                self.transport.sendPacket(92, struct.pack(">2L", sender, 2) + NS(TEXT) + NS(b""))
            else:  # confirmed: the user's session is under way when the device goes
                self.transport.sendPacket(91, struct.pack(">4L", sender, 0, 2**21, 32768))
        elif number == 98:  # CHANNEL_REQUEST (pty, env, exec...)
            self.transport.sendDisconnect(transport.DISCONNECT_BY_APPLICATION, TEXT)


class _Factory(factory.SSHFactory):
    services = {b"ssh-userauth": userauth.SSHUserAuthServer, b"ssh-connection": _Connection}


def main() -> None:
    global MODE, TEXT
    port, key_path, MODE, text = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    TEXT = text.encode("utf-8", "surrogateescape")
    host_key = keys.Key.fromFile(key_path)
    server = _Factory()
    server.privateKeys = {host_key.sshType(): host_key}
    server.publicKeys = {host_key.sshType(): host_key.public()}
    server.primes = None
    server.portal = Portal(_Realm(), [_AnyKey()])
    reactor.listenTCP(port, server, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
