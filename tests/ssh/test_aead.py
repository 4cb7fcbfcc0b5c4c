"""The packet constructions on their own: what one side seals the other opens, and nothing altered.

Interoperability is proven against OpenSSH in test_proxy_ciphers; here each construction's
sealer and opener, made from the same keys as the two ends of one direction would be, show that
a flipped bit anywhere (length, ciphertext, tag) or a wrong sequence number is refused.
"""

import os

import pytest

from services.ssh_proxy import aead

CASES = [
    ("aes128-gcm@openssh.com", b"none"),
    ("aes256-gcm@openssh.com", b"none"),
    ("chacha20-poly1305@openssh.com", b"none"),
    ("aes128-ctr", b"hmac-sha2-256-etm@openssh.com"),
    ("aes256-ctr", b"hmac-sha2-512-etm@openssh.com"),
    ("aes128-ctr", b"hmac-sha2-256"),
]


def ends(cipher: str, mac: bytes):
    key, iv, integrity = os.urandom(64), os.urandom(16), os.urandom(64)
    name = cipher.encode()
    return tuple(aead.protection(name, mac, key, iv, integrity, encrypt) for encrypt in (True, False))


def sealed(sealer, seq: int, *parts) -> bytearray:
    """One payload given in ``parts``, as the relay gives one: a rewritten header, a view of the data."""
    return bytearray(b"".join(sealer.seal(seq, aead.frame(sealer.block, sealer.aad, 94, parts))))


def opened(opener, seq: int, wire: bytearray) -> bytes:
    """Open ``wire`` as the transport does: the length from its head first, then the whole packet."""
    view = memoryview(bytes(wire))
    opener.length(seq, view[: opener.head])
    return opener.open(seq, view)


@pytest.mark.parametrize(("cipher", "mac"), CASES)
def test_what_is_sealed_opens_in_order(cipher, mac):
    sealer, opener = ends(cipher, mac)
    for seq, size in enumerate((0, 1, 15, 16, 17, 32768)):
        payload = os.urandom(size)
        plain = opened(opener, seq, sealed(sealer, seq, payload))
        padding = plain[0]
        assert (plain[1], plain[2 : len(plain) - padding]) == (94, payload)
        assert padding >= 4 and (len(plain) + 4 - sealer.aad) % sealer.block == 0


@pytest.mark.parametrize(("cipher", "mac"), CASES)
def test_a_payload_in_parts_is_sealed_as_one(cipher, mac):
    sealer, opener = ends(cipher, mac)
    for seq, size in enumerate((4, 5, 17, 32768)):
        payload = os.urandom(size)
        plain = opened(opener, seq, sealed(sealer, seq, payload[:4], memoryview(payload)[4:]))
        assert plain[2 : len(plain) - plain[0]] == payload


@pytest.mark.parametrize(("cipher", "mac"), CASES)
@pytest.mark.parametrize("where", [0, 3, 4, 40, -16, -1])
def test_a_flipped_bit_is_refused(cipher, mac, where):
    """Length, padding length, payload and tag: each is covered by the MAC or tag."""
    sealer, opener = ends(cipher, mac)
    wire = sealed(sealer, 0, b"payload " * 8)
    wire[where] ^= 0x40
    with pytest.raises(aead.BadPacket):
        opened(opener, 0, wire)


@pytest.mark.parametrize(("cipher", "mac"), CASES[2:])  # AES-GCM counts packets itself
def test_a_packet_is_bound_to_its_sequence_number(cipher, mac):
    sealer, opener = ends(cipher, mac)
    with pytest.raises(aead.BadPacket):
        opened(opener, 1, sealed(sealer, 0, b"replayed or reordered"))
