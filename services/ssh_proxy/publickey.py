"""Public-key user authentication without Conch's format-string bug (SECURITY.md).

Conch's ``SSHUserAuthServer.auth_publickey`` answers a request whose blob is not a key by
logging the client's algorithm name *inside the format string* at error level: twisted.logger
then resolves ``{log_source.transport.factory.privateKeys}`` (the host keys) or calls
``{log_source.clock.stop()}`` (the reactor). It also decodes the name as ASCII first, so
``\\xff`` raises out of the packet handler, and a truncated request raises too.

Here a request that does not parse, or whose blob is not a key, is refused before Conch sees it:
a failed attempt like any other, logged with the peer's bytes as fields only. A well-formed
request with a real key goes on to Conch's method unchanged.
"""

from twisted.conch.ssh import keys, userauth
from twisted.conch.ssh.common import getNS
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer


def _problem(packet: bytes) -> tuple[bytes | None, str | None]:
    """The algorithm name of a publickey request (its method data), and why it cannot go to Conch
    (None if it can)."""
    try:
        has_signature = packet[:1] not in (b"", b"\x00")
        algorithm, blob, rest = getNS(packet[1:], 2)
        if has_signature:
            getNS(rest)
    except Exception:  # struct.error on any truncated string
        return None, "malformed publickey request"
    try:
        keys.Key.fromString(blob)
    except Exception:  # a hostile blob raises more than BadKeyError (struct.error, ValueError...)
        return algorithm, "the key blob is not a supported public key"
    return algorithm, None


class PublicKeyAuth(userauth.SSHUserAuthServer):
    """``SSHUserAuthServer`` whose publickey method never puts peer bytes into a format string."""

    def auth_publickey(self, packet: bytes) -> defer.Deferred:
        algorithm, problem = _problem(packet)
        if problem is None:
            return super().auth_publickey(packet)
        self._log.info(
            "publickey request from {user!r} refused: {problem} (algorithm {algorithm!r})",
            user=self.user,
            problem=problem,
            algorithm=algorithm,
        )
        return defer.fail(UnauthorizedLogin(problem))
