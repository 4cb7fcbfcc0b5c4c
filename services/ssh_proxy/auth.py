"""Who the user is: public keys from the registry, and which device the login name routes to.

``SSHPublicKeyChecker`` looks keys up synchronously; this checker asks the registry in a thread
and verifies the signature itself. Only public keys are offered: the portal has no password or
keyboard-interactive checker, so Conch never advertises those methods.

The signature algorithm is the client's choice, and ``Key.verify`` takes the hash from the
signature itself: left alone, it accepts SHA-1 ``ssh-rsa`` signatures the proxy does not
advertise (OpenSSH 8.8 refuses them too). So the algorithm the request names must be one the
proxy accepts for that key type, and the signature must be made with that algorithm.

A delegate's key (``registry add-delegate``: the web terminal's) may log in as any registered
user, for one named device only (``USER+UUID``); the session is that user's in every check that
follows (the grant above all), and the audit line records the delegate as ``via``.
"""

import attrs
from twisted.conch import error
from twisted.conch.interfaces import IConchUser
from twisted.conch.ssh import keys
from twisted.conch.ssh.common import NS
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import ISSHPrivateKey
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet import defer
from zope.interface import implementer

from services.ssh_proxy import algorithms
from services.ssh_proxy.registry_access import Registry


@attrs.frozen
class Route:
    """The authenticated user and, for ``USER+UUID`` logins, the device chosen by the name."""

    user: str
    device: str | None
    via: str | None = None  # the delegate that logged in for the user

    @classmethod
    def parse(cls, login: str) -> "Route":
        user, plus, device = login.partition("+")
        return cls(user, device if plus else None)


def _authorised_blobs(lines: tuple[str, ...]) -> set[bytes]:
    """The key blobs of the registry's lines; a malformed line authorises nothing."""
    blobs = set()
    for line in lines:
        try:
            blobs.add(keys.Key.fromString(line.encode(), type="public_openssh").blob())
        except Exception:  # a bad line in the registry is the registry's problem, not a login
            continue
    return blobs


def _verifies(blob: bytes, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is the key's over ``data``; a malformed signature is just a bad one.

    Conch's ``Key.verify`` raises (``struct.error``) on a signature that does not parse, and
    Conch logs that at error level as a checker failure: one per attempt, any peer, no login.
    """
    try:
        return keys.Key.fromString(blob).verify(signature, data)
    except Exception:
        return False


def _accepted_algorithm(credentials) -> bool:
    """Whether the request names a sound algorithm for its key, and its signature (if any) uses it."""
    accepted = algorithms.signatures(keys.Key.fromString(credentials.blob).supportedSignatureAlgorithms())
    if credentials.algName not in accepted:
        return False
    return credentials.signature is None or credentials.signature.startswith(NS(credentials.algName))


@implementer(ICredentialsChecker)
@attrs.frozen
class RegistryKeyChecker:
    registry: Registry
    credentialInterfaces = (ISSHPrivateKey,)

    def requestAvatarId(self, credentials):
        if not _accepted_algorithm(credentials):
            return defer.fail(UnauthorizedLogin("signature algorithm not accepted"))
        route = Route.parse(credentials.username.decode("utf-8", "replace"))
        d = self.registry.call(lambda store: (store.user(route.user), store.delegates()))
        d.addCallback(self._check, route, credentials)
        return d

    def _check(self, found, route: Route, credentials) -> Route:
        user, delegates = found
        if user is None:
            raise UnauthorizedLogin("key not authorised")
        if credentials.blob not in _authorised_blobs(user.public_keys):
            via = [d.name for d in delegates if credentials.blob in _authorised_blobs((d.key_line,))]
            if not via or route.device is None:
                raise UnauthorizedLogin("key not authorised")
            route = attrs.evolve(route, via=via[0])
        if credentials.signature is None:
            raise error.ValidPublicKey()  # the client asks whether it may sign with this key
        if not _verifies(credentials.blob, credentials.signature, credentials.sigData):
            raise UnauthorizedLogin("bad signature")
        return route


@implementer(IRealm)
class RouteRealm:
    """The avatar is just the route the checker found: the proxy runs nothing for the user itself."""

    def requestAvatar(self, avatarId: Route, mind, *interfaces):
        return IConchUser, avatarId, lambda: None


def portal(registry: Registry) -> Portal:
    return Portal(RouteRealm(), [RegistryKeyChecker(registry)])
