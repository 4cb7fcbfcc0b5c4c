"""How one SSH packet is protected on the wire, for every cipher and MAC the proxy negotiates.

Conch protects packets one way only, RFC 4253's encrypt-and-MAC: the whole packet, length
included, is encrypted, and the MAC covers the plaintext. OpenSSH clients prefer three other
constructions, and Conch's lack of them made a client on its defaults fall back to the costliest
pair (AES-CTR and an HMAC over every byte). Each is here as one small class with two halves, a
sealer for the packets we send and an opener for those we receive (docs/ssh-aead.md has the
byte layouts and where each comes from):

- ``EncryptAndMac``: RFC 4253 (aes*-ctr with hmac-sha2-*).
- ``EncryptThenMac``: OpenSSH's ``*-etm@openssh.com`` MACs: the length is sent in clear and the
  MAC covers the ciphertext, so nothing is decrypted before it is authenticated.
- ``AesGcm``: ``aes128-gcm@openssh.com``/``aes256-gcm@openssh.com`` (RFC 5647 as OpenSSH
  negotiates it): the length is the additional data, the nonce a 4-byte fixed field and an 8-byte
  counter, both from the key exchange's IV, the counter incremented per packet.
- ``ChaChaPoly``: ``chacha20-poly1305@openssh.com``: DJB's original ChaCha20 (64-bit nonce, 64-bit
  block counter), one key for the length and one for the payload and Poly1305 key.

A packet goes to ``seal`` in the pieces ``frame`` gives (uint32 length, padding length and
message number; payload; padding) and comes back as the chunks to write: the stream ciphers
encrypt the pieces one after another, so a relayed payload is not copied into a whole packet
first; only AES-GCM, whose one-shot call takes the packet whole, joins them. ``opener.length`` reads the packet length from
the first ``head`` bytes, then ``opener.open`` takes the whole packet with its tag and returns
the plaintext after the length field, or raises ``BadPacket``. All of them use the
``cryptography`` package's primitives; nothing cryptographic is written here.
"""

import hmac
import os
import struct

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.poly1305 import Poly1305

_length = struct.Struct(">L")
_frame_header = struct.Struct(">LBB")
_ZERO_BLOCK = bytes(64)
_SEQUENCE = 0xFFFFFFFF  # sequence numbers are uint32 and wrap (RFC 4253 section 6.4)
_COUNTER = 0xFFFFFFFFFFFFFFFF


class BadPacket(Exception):
    """The packet's MAC or tag did not verify: it was forged, damaged, or the keys differ."""


def frame(block: int, aad: int, message: int, parts: tuple) -> tuple:
    """The packet as sent before protection, in three pieces: the length, padding length and
    message number with all but the last of ``parts``; the last part; the padding.

    The payload is given in ``parts`` (bytes-like): the relay gives a rewritten channel header
    (a few bytes, joined to the header here) and a view of the data it received (left as it is,
    to be read once, by the cipher). The padding (4 bytes or more, random) brings the packet to
    a multiple of ``block``, counting the length field unless it travels outside the encryption
    (``aad`` 4: EtM and AEAD).
    """
    size = sum(map(len, parts))
    padding = block - (6 + size - aad) % block
    if padding < 4:
        padding += block
    header = _frame_header.pack(2 + size + padding, padding, message)
    return b"".join((header, *parts[:-1])), parts[-1], os.urandom(padding)


class Plain:
    """No protection (``none``): the packets of the first key exchange."""

    block, aad, head, tag = 8, 0, 4, 0

    def seal(self, seq: int, pieces: tuple) -> tuple[bytes, ...]:
        return (b"".join(pieces),)

    def length(self, seq: int, head: memoryview) -> int:
        return _length.unpack_from(head)[0]

    def open(self, seq: int, packet: memoryview) -> bytes:
        return bytes(packet[4:])


def _hmac(name: bytes, key: bytes) -> tuple[hmac.HMAC, int]:
    """A keyed HMAC to copy for each packet, and its size; ``hmac-sha2-256[-etm@openssh.com]``."""
    digest = name.split(b"-")[2].decode()  # hmac-sha2-256..., hmac-sha2-512...
    size = int(digest) // 8
    # The key is as long as the digest (RFC 4253 section 7.2; what Conch and OpenSSH both use).
    return hmac.new(key[:size], digestmod="sha" + digest), size


def _ctr(cipher: bytes, key: bytes, iv: bytes, encrypt: bool):
    size = {b"aes128-ctr": 16, b"aes192-ctr": 24, b"aes256-ctr": 32}[cipher]
    context = Cipher(algorithms.AES(key[:size]), modes.CTR(iv[:16]))
    return context.encryptor() if encrypt else context.decryptor()


def _verify(expected: bytes, received) -> None:
    if not hmac.compare_digest(expected, received):
        raise BadPacket()


class EncryptAndMac:
    """RFC 4253: the whole packet encrypted, the MAC over sequence number and plaintext."""

    aad, head = 0, 16

    def __init__(self, cipher: bytes, mac: bytes, key: bytes, iv: bytes, integrity: bytes, encrypt: bool):
        self.block = 16
        self.stream = _ctr(cipher, key, iv, encrypt)
        self.mac, self.tag = _hmac(mac, integrity)
        self.first = b""

    def _mac(self, seq: int, *parts) -> bytes:
        mac = self.mac.copy()
        mac.update(_length.pack(seq & _SEQUENCE))
        for part in parts:
            mac.update(part)
        return mac.digest()

    def seal(self, seq: int, pieces: tuple) -> tuple[bytes, ...]:
        return *map(self.stream.update, pieces), self._mac(seq, *pieces)

    def length(self, seq: int, head: memoryview) -> int:
        self.first = self.stream.update(head)  # the stream moves on: keep the block for ``open``
        return _length.unpack_from(self.first)[0]

    def open(self, seq: int, packet: memoryview) -> bytes:
        plain = self.first + self.stream.update(packet[16 : len(packet) - self.tag])
        _verify(self._mac(seq, plain), packet[len(packet) - self.tag :])
        return plain[4:]


class EncryptThenMac(EncryptAndMac):
    """OpenSSH's ``-etm`` MACs: length in clear, the rest encrypted, the MAC over the ciphertext."""

    aad, head = 4, 4

    def seal(self, seq: int, pieces: tuple) -> tuple[bytes, ...]:
        first = pieces[0]
        chunks = (first[:4], *map(self.stream.update, (first[4:], *pieces[1:])))
        return *chunks, self._mac(seq, *chunks)

    def length(self, seq: int, head: memoryview) -> int:
        return _length.unpack_from(head)[0]

    def open(self, seq: int, packet: memoryview) -> bytes:
        end = len(packet) - self.tag
        _verify(self._mac(seq, packet[:end]), packet[end:])
        return self.stream.update(packet[4:end])


class AesGcm:
    """AES-GCM as OpenSSH runs it: length as additional data, nonce = fixed(4) || counter(8)."""

    block, aad, head, tag = 16, 4, 4, 16

    def __init__(self, cipher: bytes, key: bytes, iv: bytes) -> None:
        size = {b"aes128-gcm@openssh.com": 16, b"aes256-gcm@openssh.com": 32}[cipher]
        self.aead = AESGCM(key[:size])
        self.fixed = iv[:4]
        self.counter = int.from_bytes(iv[4:12], "big")

    def _nonce(self) -> bytes:
        nonce = self.fixed + self.counter.to_bytes(8, "big")
        self.counter = (self.counter + 1) & _COUNTER
        return nonce

    def seal(self, seq: int, pieces: tuple) -> tuple[bytes, ...]:
        view = memoryview(b"".join(pieces))
        return pieces[0][:4], self.aead.encrypt(self._nonce(), view[4:], view[:4])

    def length(self, seq: int, head: memoryview) -> int:
        return _length.unpack_from(head)[0]

    def open(self, seq: int, packet: memoryview) -> bytes:
        try:
            return self.aead.decrypt(self._nonce(), packet[4:], packet[:4])
        except InvalidTag:
            raise BadPacket() from None


class ChaChaPoly:
    """``chacha20-poly1305@openssh.com``: K_2 (key[:32]) for payload and Poly1305 key, K_1 for length.

    OpenSSH's ChaCha20 is the original one: a 64-bit block counter and a 64-bit nonce, the
    packet's sequence number big-endian. The ``cryptography`` package's ChaCha20 takes OpenSSL's
    16-byte IV, which is those same four state words: counter (8 bytes, little-endian), nonce.
    Each key has one cipher context for the whole connection, moved to each packet's IV with
    ``reset_nonce``: a new context per packet cost a third of sealing a 32 KiB packet.
    """

    block, aad, head, tag = 8, 4, 4, 16

    def __init__(self, key: bytes) -> None:
        self.payload_cipher = Cipher(algorithms.ChaCha20(key[:32], self._iv(0)), None).encryptor()
        self.length_cipher = Cipher(algorithms.ChaCha20(key[32:64], self._iv(0)), None).encryptor()

    @staticmethod
    def _iv(seq: int) -> bytes:
        return bytes(8) + (seq & _SEQUENCE).to_bytes(8, "big")  # block counter 0

    def _payload_stream(self, iv: bytes):
        """The payload's keystream from block 0, and the Poly1305 key (block 0's first 32 bytes).

        The rest of block 0 is skipped, so what the stream encrypts next starts at block 1.
        """
        stream = self.payload_cipher
        stream.reset_nonce(iv)
        return stream, stream.update(_ZERO_BLOCK)[:32]

    def _length_stream(self, iv: bytes, data) -> bytes:
        self.length_cipher.reset_nonce(iv)
        return self.length_cipher.update(data)

    def seal(self, seq: int, pieces: tuple) -> tuple[bytes, ...]:
        iv = self._iv(seq)
        stream, poly_key = self._payload_stream(iv)
        first, body, padding = pieces
        # Three chunks, as many as the packet had before it was sealed: the few bytes before and
        # after the body are joined (each chunk costs the transport's write a check and a slot).
        head = self._length_stream(iv, first[:4]) + stream.update(first[4:])
        body, tail = stream.update(body), stream.update(padding)
        tag = Poly1305(poly_key)
        for chunk in (head, body, tail):
            tag.update(chunk)
        return head, body, tail + tag.finalize()

    def length(self, seq: int, head: memoryview) -> int:
        return _length.unpack_from(self._length_stream(self._iv(seq), head))[0]

    def open(self, seq: int, packet: memoryview) -> bytes:
        stream, poly_key = self._payload_stream(self._iv(seq))
        end = len(packet) - 16
        try:
            Poly1305.verify_tag(poly_key, packet[:end], bytes(packet[end:]))
        except InvalidSignature:
            raise BadPacket() from None
        return stream.update(packet[4:end])


CIPHERS = (b"aes128-gcm@openssh.com", b"aes256-gcm@openssh.com", b"chacha20-poly1305@openssh.com")
ETM_MACS = (b"hmac-sha2-256-etm@openssh.com", b"hmac-sha2-512-etm@openssh.com")


def protection(cipher: bytes, mac: bytes, key: bytes, iv: bytes, integrity: bytes, encrypt: bool):
    """One direction's sealer (``encrypt``) or opener for the negotiated cipher and MAC.

    An AEAD cipher authenticates by itself: the MAC negotiated beside it is not used (OpenSSH).
    """
    if cipher == b"none":
        return Plain()
    if cipher == b"chacha20-poly1305@openssh.com":
        return ChaChaPoly(key)
    if cipher.endswith(b"-gcm@openssh.com"):
        return AesGcm(cipher, key, iv)
    if mac.endswith(b"-etm@openssh.com"):
        return EncryptThenMac(cipher, mac, key, iv, integrity, encrypt)
    return EncryptAndMac(cipher, mac, key, iv, integrity, encrypt)
