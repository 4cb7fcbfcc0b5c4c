"""The algorithms the proxy offers on both of its sides, trimmed to ones still considered sound.

Conch offers CBC ciphers, 3DES, HMAC-MD5/SHA-1, SHA-1 key exchanges and ``ssh-dss`` by default;
a proxy in front of many devices should not be the weakest link, so those are left out.
"""

from twisted.conch.ssh import transport

_WEAK_CIPHERS = (b"-cbc",)
_WEAK_MACS = {b"hmac-sha1", b"hmac-md5"}
_WEAK_KEX = {
    b"diffie-hellman-group-exchange-sha1",
    b"diffie-hellman-group14-sha1",
    b"diffie-hellman-group1-sha1",
}
_WEAK_SIGNATURES = {b"ssh-dss", b"ssh-rsa"}


def ciphers() -> list[bytes]:
    return [name for name in transport.SSHTransportBase.supportedCiphers if not name.endswith(_WEAK_CIPHERS)]


def macs() -> list[bytes]:
    return [name for name in transport.SSHTransportBase.supportedMACs if name not in _WEAK_MACS]


def key_exchanges(offered: list[bytes]) -> list[bytes]:
    return [name for name in offered if name not in _WEAK_KEX]


def signatures(offered: list[bytes]) -> list[bytes]:
    return [name for name in offered if name not in _WEAK_SIGNATURES]


def trim(proto: transport.SSHTransportBase) -> None:
    """Narrow one transport's offer (call before its connection starts)."""
    proto.supportedCiphers = ciphers()
    proto.supportedMACs = macs()
    proto.supportedKeyExchanges = key_exchanges(proto.supportedKeyExchanges)
    proto.supportedPublicKeys = signatures(proto.supportedPublicKeys)
