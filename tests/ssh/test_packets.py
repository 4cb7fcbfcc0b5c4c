"""The receive path cuts packets out of reads however the stream was split into them.

TCP hands the proxy's transports reads of any size: a packet may start in one read and end
several reads later, and a read may hold many packets. ``PacketLayer`` completes a packet begun
in an earlier read with only the bytes it lacks, so these feed the same sealed stream in reads
of many sizes (one byte at a time included) and expect the same messages, in order.
"""

import os
from types import SimpleNamespace

import pytest

from services.ssh_proxy import aead, packets

MESSAGES = [(94, os.urandom(size)) for size in (0, 1, 100, 32768, 5, 70000)]


class Receiver(packets.PacketLayer):
    """The packet layer alone: what it dispatches is kept, with no SSH service behind it."""

    gotVersion = True
    incomingPacketSequence = 0
    service = None

    def __init__(self, opener) -> None:
        self._opener = opener
        self.transport = SimpleNamespace(disconnecting=False, bufferSize=packets.READ_SIZE)
        self.dispatched: list[tuple[int, bytes]] = []

    def dispatchMessage(self, number: int, payload: bytes) -> None:
        self.dispatched.append((number, bytes(payload)))

    def sendDisconnect(self, reason: int, description: bytes) -> None:
        raise AssertionError(description)


def stream(cipher: bytes, mac: bytes):
    key, iv, integrity = os.urandom(64), os.urandom(16), os.urandom(64)
    sealer, opener = (aead.protection(cipher, mac, key, iv, integrity, encrypt) for encrypt in (True, False))
    sealed = b"".join(
        b"".join(sealer.seal(seq, aead.frame(sealer.block, sealer.aad, number, (payload,))))
        for seq, (number, payload) in enumerate(MESSAGES)
    )
    return opener, sealed


@pytest.mark.parametrize(
    ("cipher", "mac"),
    [
        (b"chacha20-poly1305@openssh.com", b"none"),
        (b"aes128-gcm@openssh.com", b"none"),
        (b"aes128-ctr", b"hmac-sha2-256"),
    ],
)
@pytest.mark.parametrize("size", [1, 3, 17, 4096, 65536, 10**6])
def test_every_packet_is_dispatched_whatever_the_reads(cipher, mac, size):
    opener, sealed = stream(cipher, mac)
    receiver = Receiver(opener)
    for start in range(0, len(sealed), size):
        receiver.dataReceived(sealed[start : start + size])
    assert receiver.dispatched == MESSAGES
    assert receiver._rest == b"" and receiver.incomingPacketSequence == len(MESSAGES)


class Refusing(Receiver):
    """A receiver that records the disconnect it sends, as the transport would send it."""

    def sendDisconnect(self, reason: int, description: bytes) -> None:
        self.refused = description
        self.transport.disconnecting = True


@pytest.mark.parametrize("cipher", [b"chacha20-poly1305@openssh.com", b"aes128-gcm@openssh.com"])
def test_a_packet_too_short_to_hold_its_padding_is_refused(cipher):
    """Where the length travels outside the encryption, a peer with its session keys can seal a
    packet of length 0: it must be refused as a bad length, not read past (an IndexError)."""
    key, iv, integrity = os.urandom(64), os.urandom(16), os.urandom(64)
    sealer, opener = (
        aead.protection(cipher, b"none", key, iv, integrity, encrypt) for encrypt in (True, False)
    )
    receiver = Refusing(opener)
    receiver.dataReceived(b"".join(sealer.seal(0, (b"\x00\x00\x00\x00", b"", b""))))  # length 0, no body
    assert receiver.refused == b"bad packet length" and receiver.dispatched == []


def test_a_read_holds_a_bounded_number_of_packets():
    """Bulk data is read a MiB at a time; small packets are read a few hundred at a time, so one
    connection sending thousands of them (keystrokes, a flood) leaves the worker's other sessions
    a turn within milliseconds. A read that ends inside a large packet doubles the next."""
    key, iv, integrity = os.urandom(64), os.urandom(16), os.urandom(64)
    cipher = b"chacha20-poly1305@openssh.com"
    sealer, opener = (
        aead.protection(cipher, b"none", key, iv, integrity, encrypt) for encrypt in (True, False)
    )
    sealed = [
        b"".join(sealer.seal(seq, aead.frame(sealer.block, sealer.aad, 94, (payload,))))
        for seq, payload in enumerate([os.urandom(8)] * 2000 + [os.urandom(32768)] * 40)
    ]
    receiver = Receiver(opener)
    small, bulk = b"".join(sealed[:2000]), b"".join(sealed[2000:])
    receiver.dataReceived(small)
    assert len(receiver.dispatched) == 2000
    assert receiver.transport.bufferSize == packets.MIN_READ_SIZE
    assert receiver.transport.bufferSize // len(sealed[0]) < 2 * packets.PACKETS_PER_READ
    receiver.dataReceived(bulk[:20000])  # the start of a 32 KiB packet
    assert receiver.transport.bufferSize == 2 * packets.MIN_READ_SIZE
    receiver.dataReceived(bulk[20000:])
    assert receiver.transport.bufferSize == packets.READ_SIZE
    assert len(receiver.dispatched) == 2040 and receiver._rest == b""
