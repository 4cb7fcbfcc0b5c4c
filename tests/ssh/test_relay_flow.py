"""Each side of a relayed channel has flow control of its own (``relay.Relay``).

The relay alone, its two sides recorded as the messages it sends them: a sender is granted the
receiver's window and a buffer, what the receiver's window does not take is held in order with
the messages behind it, and nothing a sender can do makes the proxy hold more than the buffer.
The same relay carries real OpenSSH sessions in test_proxy_sessions.py and test_proxy_flow.py.
"""

import struct

import pytest
from twisted.conch.ssh.common import NS

from services.ssh_proxy import relay, wire

WINDOW = 2 * 1024 * 1024
PACKET = 32768


class Side:
    """What the relay sent one side: (message number, payload as bytes)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, bytes]] = []

    def __call__(self, number: int, payload) -> None:
        if isinstance(payload, tuple):
            payload = b"".join(bytes(part) for part in payload)
        self.sent.append((number, payload))

    def data(self) -> bytes:
        """The channel data received, in order (the recipient and length fields taken off)."""
        return b"".join(payload[8:] for number, payload in self.sent if number == wire.CHANNEL_DATA)

    def numbers(self) -> list[int]:
        return [number for number, _ in self.sent]

    def take(self) -> list[tuple[int, bytes]]:
        sent, self.sent = self.sent, []
        return sent


def opened(user_window: int = WINDOW, device_window: int = WINDOW) -> tuple[relay.Relay, Side, Side]:
    """A relay with one session channel: the user's number 7, the device's 3."""
    user, device = Side(), Side()
    pipe = relay.Relay.towards(user)
    pipe.attach(device)
    pipe.from_user(wire.CHANNEL_OPEN, NS(b"session") + struct.pack(">3L", 7, user_window, PACKET))
    local = struct.unpack(">L", device.sent[-1][1][11:15])[0]
    pipe.from_device(wire.CHANNEL_OPEN_CONFIRMATION, struct.pack(">4L", local, 3, device_window, PACKET))
    return pipe, user, device


def data(channel: int, payload: bytes) -> bytes:
    return struct.pack(">L", channel) + NS(payload)


def adjust(channel: int, size: int) -> bytes:
    return struct.pack(">2L", channel, size)


def granted(message: bytes, offset: int) -> int:
    return struct.unpack_from(">L", message, offset)[0]


def test_each_sender_is_granted_the_receivers_window_and_the_buffer():
    pipe, user, device = opened(user_window=100_000, device_window=50_000)
    open_message = device.sent[0][1]
    assert granted(open_message, 4 + len(b"session") + 4) == 100_000 + relay.CHANNEL_BUFFER
    number, confirmation = user.sent[0]
    assert number == wire.CHANNEL_OPEN_CONFIRMATION
    assert struct.unpack(">4L", confirmation) == (7, 0, 50_000 + relay.CHANNEL_BUFFER, PACKET)


def test_data_past_the_receivers_window_is_held_in_order_with_what_follows():
    """The device sends its whole grant, then EOF, exit status and close: the user, whose window
    is 100,000 bytes, gets the data as it widens its window, and the rest after the last byte."""
    pipe, user, device = opened(user_window=100_000)
    user.take()
    chunks = [bytes([n]) * PACKET for n in range(67)]  # more than the window, less than the grant
    for chunk in chunks:
        pipe.from_device(wire.CHANNEL_DATA, data(0, chunk))
    pipe.from_device(wire.CHANNEL_EXTENDED_DATA, struct.pack(">2L", 0, 1) + NS(b"to stderr"))
    pipe.from_device(wire.CHANNEL_EOF, struct.pack(">L", 0))
    pipe.from_device(wire.CHANNEL_REQUEST, wire.request(0, b"exit-status", False, struct.pack(">L", 7)))
    pipe.from_device(wire.CHANNEL_CLOSE, struct.pack(">L", 0))
    assert len(user.data()) == 100_000  # the window, split within a packet
    assert set(user.numbers()) == {wire.CHANNEL_DATA}
    received = user.data()
    while len(received) < len(b"".join(chunks)):
        user.take()
        pipe.from_user(wire.CHANNEL_WINDOW_ADJUST, adjust(0, 300_000))
        assert 0 < len(user.data()) <= 300_000
        received += user.data()
    assert received == b"".join(chunks)
    pipe.from_user(wire.CHANNEL_WINDOW_ADJUST, adjust(0, 1000))
    tail = user.take()
    assert [number for number, _ in tail][-4:] == [
        wire.CHANNEL_EXTENDED_DATA,
        wire.CHANNEL_EOF,
        wire.CHANNEL_REQUEST,
        wire.CHANNEL_CLOSE,
    ]
    assert tail[-4][1] == struct.pack(">3L", 7, 1, 9) + b"to stderr"
    assert all(payload[:4] == struct.pack(">L", 7) for _, payload in tail)


def test_the_receivers_adjustments_pass_on_to_the_sender():
    pipe, user, device = opened()
    device.take()
    pipe.from_user(wire.CHANNEL_WINDOW_ADJUST, adjust(0, 12345))
    assert device.sent == [(wire.CHANNEL_WINDOW_ADJUST, adjust(3, 12345))]


def test_a_sender_past_its_grant_breaks_the_protocol():
    """What the proxy holds is bounded by the buffer only because no sender may pass its grant."""
    pipe, user, device = opened(user_window=PACKET)
    for _ in range((PACKET + relay.CHANNEL_BUFFER) // PACKET):
        pipe.from_device(wire.CHANNEL_DATA, data(0, bytes(PACKET)))
    with pytest.raises(relay.ProtocolError, match="left of its window"):
        pipe.from_device(wire.CHANNEL_DATA, data(0, b"x"))
    held = sum(len(item) for number, item, _ in pipe.user.channels[0].held)
    assert held == relay.CHANNEL_BUFFER


def test_messages_held_behind_data_are_bounded():
    pipe, user, device = opened(user_window=0)
    pipe.from_device(wire.CHANNEL_DATA, data(0, b"waits"))
    resize = wire.request(0, b"window-change", False, bytes(16))
    with pytest.raises(relay.ProtocolError, match="held behind data"):
        for _ in range(relay.HELD_MESSAGES_LIMIT // (len(resize) - 4) + 1):
            pipe.from_device(wire.CHANNEL_REQUEST, resize)


def test_the_session_shares_one_buffer_and_gets_it_back_when_a_channel_closes():
    pipe, user, device = opened()
    assert pipe.buffer_left == relay.SESSION_BUFFER - 2 * relay.CHANNEL_BUFFER
    pipe.from_user(wire.CHANNEL_OPEN, NS(b"session") + struct.pack(">3L", 8, WINDOW, PACKET))
    assert granted(device.sent[-1][1], 4 + len(b"session") + 4) == WINDOW  # none left: as it is
    pipe.from_user(wire.CHANNEL_CLOSE, struct.pack(">L", 0))
    pipe.from_device(wire.CHANNEL_CLOSE, struct.pack(">L", 0))
    assert pipe.buffer_left == relay.SESSION_BUFFER


def test_a_receiver_that_closes_drops_what_was_held_for_it():
    """The user closes while data waits for its window: the device's close must reach it."""
    pipe, user, device = opened(user_window=10)
    pipe.from_device(wire.CHANNEL_DATA, data(0, bytes(1000)))
    user.take()
    pipe.from_user(wire.CHANNEL_CLOSE, struct.pack(">L", 0))
    pipe.from_device(wire.CHANNEL_CLOSE, struct.pack(">L", 0))
    assert user.sent == [(wire.CHANNEL_CLOSE, struct.pack(">L", 7))]
    assert not pipe.user.channels and not pipe.device.channels


def test_a_receiver_that_closes_still_gets_the_close_held_behind_its_data():
    """The device ends (EOF, exit status, close) while data waits for the user's window, and the
    user closes without reading it (Ctrl-C): the device's messages reach it, the data does not."""
    pipe, user, device = opened(user_window=10)
    pipe.from_device(wire.CHANNEL_DATA, data(0, bytes(1000)))
    pipe.from_device(wire.CHANNEL_EOF, struct.pack(">L", 0))
    pipe.from_device(wire.CHANNEL_REQUEST, wire.request(0, b"exit-status", False, struct.pack(">L", 0)))
    pipe.from_device(wire.CHANNEL_CLOSE, struct.pack(">L", 0))
    user.take()
    pipe.from_user(wire.CHANNEL_CLOSE, struct.pack(">L", 0))
    assert user.numbers() == [wire.CHANNEL_EOF, wire.CHANNEL_REQUEST, wire.CHANNEL_CLOSE]
    assert not pipe.user.channels and not pipe.device.channels


def test_an_adjustment_never_makes_a_window_pass_a_uint32():
    """OpenSSH ends a connection whose peer's adjustment overflows its window."""
    pipe, user, device = opened(user_window=0xFFFFFFFF - relay.CHANNEL_BUFFER)
    device.take()
    pipe.from_user(wire.CHANNEL_WINDOW_ADJUST, adjust(0, 0xFFFFFFFF))
    assert device.sent == []  # the device's window is at the most already
    pipe.from_device(wire.CHANNEL_DATA, data(0, bytes(1000)))
    pipe.from_user(wire.CHANNEL_WINDOW_ADJUST, adjust(0, 0xFFFFFFFF))
    assert device.sent == [(wire.CHANNEL_WINDOW_ADJUST, adjust(3, 1000))]


def test_a_window_too_large_for_a_buffer_passes_through_as_it_is():
    pipe, user, device = opened(user_window=0xFFFFFFFF)
    assert granted(device.sent[0][1], 4 + len(b"session") + 4) == 0xFFFFFFFF
    assert pipe.buffer_left == relay.SESSION_BUFFER - relay.CHANNEL_BUFFER
