"""The algorithms the proxy offers on both of its sides, trimmed to ones still considered sound.

Conch offers CBC ciphers, 3DES, HMAC-MD5/SHA-1, SHA-1 key exchanges and ``ssh-dss`` by default;
a proxy in front of many devices should not be the weakest link, so those are left out. It also
offers zlib compression and inflates a packet whole, with no bound (SECURITY.md): one packet of
1 MiB, before login, becomes 1 GiB in the worker. No compression is offered on either side.

What is left is ordered as OpenSSH orders it, fastest first: aes128-ctr before aes256-ctr and
hmac-sha2-256 before hmac-sha2-512. The client's order decides, and on the device side the
client is the proxy: Conch's own order (aes256-ctr, hmac-sha2-512) made every relayed byte cost
a SHA-512 HMAC, about three times SHA-256's cost on CPUs with SHA extensions, and the bulk
throughput through the proxy rose by about half with this order (bench/ssh_proxy_bench.py).
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


_PREFERRED_CIPHERS = (b"aes128-ctr", b"aes192-ctr", b"aes256-ctr")
_PREFERRED_MACS = (b"hmac-sha2-256", b"hmac-sha2-512", b"hmac-sha2-384")


def _ordered(names: list[bytes], preferred: tuple[bytes, ...]) -> list[bytes]:
    """``names`` with the preferred ones first, in that order; any others after, as they were."""
    return sorted(names, key=lambda name: preferred.index(name) if name in preferred else len(preferred))


def ciphers() -> list[bytes]:
    sound = [name for name in transport.SSHTransportBase.supportedCiphers if not name.endswith(_WEAK_CIPHERS)]
    return _ordered(sound, _PREFERRED_CIPHERS)


def macs() -> list[bytes]:
    sound = [name for name in transport.SSHTransportBase.supportedMACs if name not in _WEAK_MACS]
    return _ordered(sound, _PREFERRED_MACS)


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
    proto.supportedCompressions = [b"none"]
