"""Telling the user why they cannot reach the device: one stderr line and exit status 255.

OpenSSH's client prints a disconnect message with extra lines of its own and an auth banner only
at some log levels, but it prints a session channel's extended data exactly and exits with the
channel's exit status. So once the user is authenticated, a failed connection still accepts
session channels, and the first shell, exec or subsystem on one gets the message, exit status
255 and a close. Other channels (``ssh -L``) fail to open with the same message. A device that
drops mid-session is answered the same way on the session channels already under way (``tell``).
"""

import attrs
from twisted.conch.ssh.common import NS, getNS

from services.ssh_proxy import wire
from services.ssh_proxy.errors import ProxyError
from services.ssh_proxy.relay import Send

_STARTS = {b"shell", b"exec", b"subsystem"}


@attrs.define
class _Channel:
    peer: int
    pty: bool = False
    closed: bool = False


@attrs.define
class Refusal:
    """Answers everything the user sends after a failure with ``error``."""

    error: ProxyError
    send: Send
    channels: dict[int, _Channel] = attrs.field(factory=dict)
    next_id: int = 0

    def adopt(self, local: int, peer: int) -> None:
        """Take over a session channel the proxy already confirmed (the balena form)."""
        self.channels[local] = _Channel(peer)
        self.next_id = max(self.next_id, local + 1)

    def tell(self, local: int, peer: int, pty: bool) -> None:
        """Answer a session channel already under way, whose device is gone, and close it."""
        channel = self.channels[local] = _Channel(peer, pty)
        self.next_id = max(self.next_id, local + 1)
        self._tell(channel)

    def handle(self, number: int, payload: bytes) -> None:
        if number == wire.GLOBAL_REQUEST:
            if getNS(payload)[1][:1] == b"\x01":
                self.send(wire.REQUEST_FAILURE, b"")
        elif number == wire.CHANNEL_OPEN:
            self._open(payload)
        elif number == wire.CHANNEL_REQUEST:
            channel = self.channels.get(wire.u32.unpack_from(payload)[0])
            if channel is not None:
                self._request(channel, payload[4:])
        elif number == wire.CHANNEL_CLOSE:
            channel = self.channels.pop(wire.u32.unpack_from(payload)[0], None)
            if channel is not None and not channel.closed:
                self.send(wire.CHANNEL_CLOSE, wire.u32.pack(channel.peer))

    def _open(self, payload: bytes) -> None:
        kind, rest = getNS(payload)
        peer = wire.u32.unpack_from(rest)[0]
        if kind != b"session":
            self.send(
                wire.CHANNEL_OPEN_FAILURE,
                wire.open_failure(peer, wire.OPEN_CONNECT_FAILED, self.error.message),
            )
            return
        self.adopt(self.next_id, peer)
        # A zero window: the user has nothing to send to a device that is not there.
        self.send(wire.CHANNEL_OPEN_CONFIRMATION, wire.u32x4.pack(peer, self.next_id - 1, 0, wire.MAX_PACKET))

    def _request(self, channel: _Channel, body: bytes) -> None:
        name, rest = getNS(body)
        want_reply = rest[:1] == b"\x01"
        channel.pty = channel.pty or name == b"pty-req"
        if want_reply:
            success = name in _STARTS or name == b"pty-req"
            self.send(wire.CHANNEL_SUCCESS if success else wire.CHANNEL_FAILURE, wire.u32.pack(channel.peer))
        if name in _STARTS and not channel.closed:
            self._tell(channel)

    def _tell(self, channel: _Channel) -> None:
        # A pty puts the user's terminal in raw mode: a bare newline would not return the cursor.
        line = self.error.message + ("\r\n" if channel.pty else "\n")
        peer = wire.u32.pack(channel.peer)
        self.send(
            wire.CHANNEL_EXTENDED_DATA, peer + wire.u32.pack(wire.EXTENDED_DATA_STDERR) + NS(line.encode())
        )
        self.send(wire.CHANNEL_REQUEST, wire.request(channel.peer, b"exit-status", False, wire.u32.pack(255)))
        self.send(wire.CHANNEL_EOF, peer)
        self.send(wire.CHANNEL_CLOSE, peer)
        channel.closed = True
