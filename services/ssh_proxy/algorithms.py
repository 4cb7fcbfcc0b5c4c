"""The algorithms the proxy offers on both of its sides, trimmed to ones still considered sound.

Conch offers CBC ciphers, 3DES, HMAC-MD5/SHA-1, SHA-1 key exchanges and ``ssh-dss`` by default;
a proxy in front of many devices should not be the weakest link, so those are left out. It also
offers zlib compression and inflates a packet whole, with no bound (SECURITY.md): one packet of
1 MiB, before login, becomes 1 GiB in the worker. No compression is offered on either side.

What is left is ordered fastest first: the AEAD ciphers and EtM MACs of ``packets`` (which
both transports mix in) before Conch's own, aes128 before aes256, hmac-sha2-256 before
hmac-sha2-512. The client's order decides, and on the device side the client is the proxy:
Conch's own order (aes256-ctr, hmac-sha2-512) made every relayed byte cost a SHA-512 HMAC, and
AES-CTR with any HMAC costs the worker about ten times AES-GCM per packet. AES-GCM comes before
chacha20-poly1305 (OpenSSH's first choice) because on CPUs with AES instructions it is the
cheaper of the two for the worker and for the device's sshd alike. Compression is not offered:
OpenSSH clients only speak the delayed ``zlib@openssh.com``, which Conch lacks, and a relay of
end-to-end traffic has nothing to gain from it.
"""

from twisted.conch.ssh import transport

from services.ssh_proxy import aead

_WEAK_CIPHERS = (b"-cbc",)
_WEAK_MACS = {b"hmac-sha1", b"hmac-md5"}
_WEAK_KEX = {
    b"diffie-hellman-group-exchange-sha1",
    b"diffie-hellman-group14-sha1",
    b"diffie-hellman-group1-sha1",
}
_WEAK_SIGNATURES = {b"ssh-dss", b"ssh-rsa"}


_PREFERRED_CIPHERS = (*aead.CIPHERS, b"aes128-ctr", b"aes192-ctr", b"aes256-ctr")
_PREFERRED_MACS = (*aead.ETM_MACS, b"hmac-sha2-256", b"hmac-sha2-512", b"hmac-sha2-384")


def _ordered(names: list[bytes], preferred: tuple[bytes, ...]) -> list[bytes]:
    """``names`` with the preferred ones first, in that order; any others after, as they were."""
    return sorted(names, key=lambda name: preferred.index(name) if name in preferred else len(preferred))


def ciphers() -> list[bytes]:
    conch = transport.SSHTransportBase.supportedCiphers
    sound = [*aead.CIPHERS, *(name for name in conch if not name.endswith(_WEAK_CIPHERS))]
    return _ordered(sound, _PREFERRED_CIPHERS)


def macs() -> list[bytes]:
    conch = transport.SSHTransportBase.supportedMACs
    sound = [*aead.ETM_MACS, *(name for name in conch if name not in _WEAK_MACS)]
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
