"""The connection layer passed through between the user and the device once both are authenticated.

Every message from 80 up is forwarded with its channel ids rewritten (each side numbers its own
channels), so shell, exec, exit status, sftp, scp, port forwarding and keep-alives work without
the proxy knowing them.

Each side of a channel has flow control of its own, as each hop of ``ssh -J`` has: the proxy
grants a sender the receiver's window plus ``CHANNEL_BUFFER``, and holds, in order, the data
(and the messages behind it) the receiver's window does not take yet. Passed through unchanged,
the receiver's window had to cover both hops and the worker between them: a bulk transfer
stalled once a window's worth was on its way, at about 70% of a direct connection's speed. The
receiver's adjustments pass on as they come, so a sender's window stays the receiver's plus the
buffer, and the proxy never holds more of a channel's data than that buffer: a sender that sends
past its window breaks the protocol. The buffers of one session share ``SESSION_BUFFER``; a
channel opened when it is spent gets none (its windows pass through as they are). Whatever the
windows, no more than ``backpressure.OUTPUT_MARK`` waits in the sockets for either peer.

Some messages must not cross: host-key announcements (the user would learn the device's keys as
if they were the proxy's), agent forwarding (the proxy never exposes an agent) and Unix-socket
forwarding (``ssh -L PATH:SOCKET``, ``-R SOCKET:...``: it would reach the device's local daemons,
and nothing the proxy serves needs it; TCP forwarding stays, it is the device tunnel). Refused
requests are answered by the proxy, in order with the replies that come from the far side.

A peer that breaks the protocol past what may be a race (``UNKNOWN_CHANNEL_LIMIT``), or has more
than ``WAITING_LIMIT`` requests waiting for an answer, gets a ``ProtocolError``: the session ends
that connection, and logs it once.
"""

from collections import deque
from collections.abc import Callable

import attrs
from twisted.conch.ssh.common import NS, getNS

from services.ssh_proxy import wire

Send = Callable[[int, bytes | tuple], None]  # a transport's sendPacket: see packets.PacketLayer


class ProtocolError(Exception):
    """A peer broke the connection protocol past what the proxy lets pass: its connection must end."""


_REFUSED_GLOBAL = {
    b"hostkeys-00@openssh.com",
    b"hostkeys-prove-00@openssh.com",
    b"streamlocal-forward@openssh.com",
    b"cancel-streamlocal-forward@openssh.com",
}
_REFUSED_CHANNEL_REQUESTS = frozenset({b"auth-agent-req@openssh.com", b"auth-agent-req"})
# What the proxy says when it refuses to open a channel of each type.
_REFUSED_CHANNEL_TYPES = {
    b"auth-agent@openssh.com": "the proxy does not forward agents",
    b"auth-agent": "the proxy does not forward agents",
    b"direct-streamlocal@openssh.com": "the proxy does not forward Unix sockets",
    b"forwarded-streamlocal@openssh.com": "the proxy does not forward Unix sockets",
}

# A message for a channel that does not exist (never opened, or closed by both sides) is a
# peer's error; OpenSSH disconnects at the first. A few pass unremarked, one more ends the
# connection: a peer can neither write a log line per packet nor keep the relay busy with them.
UNKNOWN_CHANNEL_LIMIT = 10
# Requests sent on and not yet answered, per connection and per channel: OpenSSH's client sends
# one keep-alive at a time. Each waiting one is remembered until the far side answers it.
WAITING_LIMIT = 1024

# What the proxy holds for a channel's receiver beyond its window, and for all of a session's
# channels: OpenSSH's session window (2 MiB), so one transfer moves a window on each hop at once.
CHANNEL_BUFFER = 2 * 1024 * 1024
SESSION_BUFFER = 2 * CHANNEL_BUFFER
# Messages other than data held behind data that waits (EOF, close, exit status, a resize):
# a few hundred bytes; more is a peer flooding the proxy with requests.
HELD_MESSAGES_LIMIT = 64 * 1024
_WINDOW_MAX = 0xFFFFFFFF  # windows are uint32 (RFC 4254 5.2)

_recipient = wire.u32.unpack_from
_DATA = (wire.CHANNEL_DATA, wire.CHANNEL_EXTENDED_DATA)


class ReplyQueue:
    """Replies sent in the order their requests arrived, as SSH requires, whoever answers them."""

    def __init__(self, send: Send, header: Callable[[], bytes] = bytes) -> None:
        self._send = send
        self._header = header
        self._slots: deque[list] = deque()

    def expect(self) -> list:
        if len(self._slots) >= WAITING_LIMIT:
            raise ProtocolError(f"more than {WAITING_LIMIT} requests waiting for an answer")
        slot = [None]
        self._slots.append(slot)
        return slot

    def fill(self, slot: list, success: bool, payload: bytes = b"") -> None:
        slot[0] = (success, payload)
        while self._slots and self._slots[0][0] is not None:
            self._send_reply(*self._slots.popleft()[0])

    def answer_now(self, success: bool) -> None:
        self.fill(self.expect(), success)

    def _send_reply(self, success: bool, payload: bytes) -> None:
        raise NotImplementedError


class GlobalReplies(ReplyQueue):
    def _send_reply(self, success: bool, payload: bytes) -> None:
        self._send(wire.REQUEST_SUCCESS if success else wire.REQUEST_FAILURE, payload)


class ChannelReplies(ReplyQueue):
    def _send_reply(self, success: bool, payload: bytes) -> None:
        self._send(wire.CHANNEL_SUCCESS if success else wire.CHANNEL_FAILURE, self._header())


@attrs.define(eq=False)
class Link:
    """One side's view of a relayed channel: our id there, the peer's id, and the other side."""

    end: "End"
    local: int
    peer: int | None = None
    partner: "Link | None" = None
    replies: ChannelReplies | None = None
    awaiting: deque = attrs.field(factory=deque)  # slots for requests we sent on this link
    got_close: bool = False
    sent_close: bool = False
    # Set by the bridge on a channel it opened itself: called with the device's confirmation
    # (window, max packet) or failure (message) instead of passing them to the user.
    on_open: Callable[[int, int], None] | None = None
    on_open_failed: Callable[[str], None] | None = None
    window: int = 0  # data the peer on this side still takes on the channel
    allowed: int = 0  # data the peer on this side may still send on it: what the proxy granted
    buffer: int = 0  # the part of that grant beyond the other side's window (SESSION_BUFFER's share)
    held: deque = attrs.field(factory=deque)  # (number, data or body, code) waiting for ``window``
    held_messages: int = 0  # bytes of the held messages that are not data

    def header(self) -> bytes:
        return wire.u32.pack(self.peer)

    def send_data(self, number: int, data: memoryview, code: int = 0) -> None:
        """Send CHANNEL_DATA (or EXTENDED_DATA of type ``code``) as far as the window takes it,
        holding the rest, in order, until the peer widens the window."""
        if not self.held:
            data = self._send_fitting(number, data, code)
            if not data:
                return
        self.held.append((number, data, code))

    def send_message(self, number: int, body: bytes) -> None:
        """Send any other channel message (``body`` after the recipient), after the held data."""
        if not self.held:
            self.end.send(number, self.header() + body)
            return
        self.held_messages += len(body)
        if self.held_messages > HELD_MESSAGES_LIMIT:
            raise ProtocolError(f"more than {HELD_MESSAGES_LIMIT} bytes of messages held behind data")
        self.held.append((number, body, 0))

    def widen(self, size: int) -> None:
        """The peer took ``size`` more bytes: send what was held, as far as the window goes."""
        self.window = min(self.window + size, _WINDOW_MAX)
        while self.held:
            number, item, code = self.held[0]
            if number in _DATA:
                item = self._send_fitting(number, item, code)
                if item:
                    self.held[0] = (number, item, code)
                    return
            else:
                self.held_messages -= len(item)
                self.end.send(number, self.header() + item)
            self.held.popleft()

    def drop_held(self) -> None:
        """The peer closed the channel: the data held for it will never be taken, but the messages
        behind it (the other side's EOF, exit status, close) are sent now, which waited only for
        it: without the close, the peer's channel would wait for it forever."""
        held, self.held, self.held_messages = self.held, deque(), 0
        for number, item, _ in held:
            if number not in _DATA:
                self.end.send(number, self.header() + item)

    def _send_fitting(self, number: int, data: memoryview, code: int) -> memoryview:
        size = min(len(data), self.window)
        if size:
            self.window -= size
            if number == wire.CHANNEL_DATA:
                header = wire.u32x2.pack(self.peer, size)
            else:
                header = wire.u32x3.pack(self.peer, code, size)
            self.end.send(number, (header, data[:size]))
        return data[size:]


@attrs.define(eq=False)
class End:
    """One side of the relay: how to send to it, and the channels it numbers."""

    send: Send
    channels: dict[int, Link] = attrs.field(factory=dict)
    next_id: int = 0
    replies: GlobalReplies = attrs.field(init=False)
    awaiting: deque = attrs.field(factory=deque)  # slots for global requests we sent here
    unknown_channel: int = 0  # messages it sent for channels that do not exist

    def __attrs_post_init__(self) -> None:
        self.replies = GlobalReplies(self.send)

    def new_link(self, peer: int | None = None) -> Link:
        link = Link(self, self.next_id, peer)
        link.replies = ChannelReplies(self.send, link.header)
        self.channels[link.local] = link
        self.next_id += 1
        return link


@attrs.define(eq=False)
class Relay:
    """The pass-through between the user's connection (``user``) and the device's (``device``)."""

    user: End
    device: End | None = None
    bytes_to_device: int = 0
    bytes_to_user: int = 0
    buffer_left: int = SESSION_BUFFER  # what channels opened from now may be granted beyond windows
    drained: Callable[[], None] | None = None  # called once nothing waits for the user's window

    def holding_for_user(self) -> bool:
        """Whether data (and what follows it) waits in the proxy for the user's window."""
        return any(link.held for link in self.user.channels.values())

    @classmethod
    def towards(cls, send_to_user: Send) -> "Relay":
        return cls(End(send_to_user))

    def attach(self, send_to_device: Send) -> None:
        self.device = End(send_to_device)

    def from_user(self, number: int, payload: bytes) -> None:
        self._handle(self.user, self.device, number, payload)

    def from_device(self, number: int, payload: bytes) -> None:
        self._handle(self.device, self.user, number, payload)

    def open_on_device(
        self, user_link: Link, kind: bytes, window: int, max_packet: int, extra: bytes = b""
    ) -> Link:
        """Open a device channel for a user channel the proxy already confirmed itself (whose
        window, the user's, is ``window``)."""
        link = self.device.new_link()
        link.partner, user_link.partner = user_link, link
        user_link.window = window
        grant = self.grant(link, window)
        self.device.send(wire.CHANNEL_OPEN, NS(kind) + wire.u32x3.pack(link.local, grant, max_packet) + extra)
        return link

    def grant(self, link: Link, window: int) -> int:
        """The window to give ``link``'s peer, the sender, whose receiver's window is ``window``:
        that window and a buffer, while the session has buffer left and the sum fits a uint32."""
        buffer = min(CHANNEL_BUFFER, self.buffer_left) if window <= _WINDOW_MAX - CHANNEL_BUFFER else 0
        self.buffer_left -= buffer
        link.buffer, link.allowed = buffer, window + buffer
        return link.allowed

    def _handle(self, here: End, there: End, number: int, payload: bytes) -> None:
        if number == wire.CHANNEL_DATA:  # the hot path: almost every message of a busy session
            link = here.channels.get(_recipient(payload)[0])
            if link is not None and link.partner is not None:
                self._data(link, link.partner, number, memoryview(payload)[4:])
                return
        if number == wire.GLOBAL_REQUEST:
            self._global_request(here, there, payload)
        elif number in (wire.REQUEST_SUCCESS, wire.REQUEST_FAILURE):
            if here.awaiting:
                there.replies.fill(here.awaiting.popleft(), number == wire.REQUEST_SUCCESS, payload)
        elif number == wire.CHANNEL_OPEN:
            self._open(here, there, payload)
        elif number in wire.CHANNEL_MESSAGES:
            link = here.channels.get(wire.u32.unpack_from(payload)[0])
            if link is None or link.partner is None:
                self._unknown_channel(here, number)
                return
            self._channel_message(link, link.partner, number, payload[4:])

    def _unknown_channel(self, here: End, number: int) -> None:
        here.unknown_channel += 1
        if here.unknown_channel > UNKNOWN_CHANNEL_LIMIT:
            limit, problem = UNKNOWN_CHANNEL_LIMIT, "messages for channels that do not exist"
            raise ProtocolError(f"more than {limit} {problem} (the last: {number})")

    def _global_request(self, here: End, there: End, payload: bytes) -> None:
        _pass_request(payload, _REFUSED_GLOBAL, here.replies, there.awaiting, there.send, wire.GLOBAL_REQUEST)

    def _open(self, here: End, there: End, payload: bytes) -> None:
        kind, rest = getNS(payload)
        peer, window, max_packet = wire.u32x3.unpack_from(rest)
        if kind in _REFUSED_CHANNEL_TYPES:
            message = _REFUSED_CHANNEL_TYPES[kind]
            here.send(
                wire.CHANNEL_OPEN_FAILURE,
                wire.open_failure(peer, wire.OPEN_ADMINISTRATIVELY_PROHIBITED, message),
            )
            return
        # The opener's side is joined to the other only once that confirms: before, the opener
        # cannot know the channel's number, and a message sent with a guessed one is for a
        # channel that does not exist yet.
        link, partner = here.new_link(peer), there.new_link()
        partner.partner = link
        link.window = window
        grant = self.grant(partner, window)
        there.send(
            wire.CHANNEL_OPEN, NS(kind) + wire.u32x3.pack(partner.local, grant, max_packet) + rest[12:]
        )

    def _channel_message(self, link: Link, partner: Link, number: int, body: bytes) -> None:
        if number == wire.CHANNEL_OPEN_CONFIRMATION:
            link.peer, window, max_packet = wire.u32x3.unpack_from(body)
            partner.partner = link
            link.window = window
            if link.on_open is not None:
                link.on_open(window, max_packet)
            else:
                confirmation = wire.u32x4.pack(
                    partner.peer, partner.local, self.grant(partner, window), max_packet
                )
                partner.end.send(number, confirmation + body[12:])
        elif number == wire.CHANNEL_OPEN_FAILURE:
            self._forget(link)
            self._forget(partner)
            if link.on_open_failed is not None:
                link.on_open_failed(getNS(body[4:])[0].decode("utf-8", "replace"))
            else:
                partner.end.send(number, partner.header() + body)
        elif number == wire.CHANNEL_REQUEST:
            self._channel_request(link, partner, body)
        elif number in (wire.CHANNEL_SUCCESS, wire.CHANNEL_FAILURE):
            if link.awaiting:
                partner.replies.fill(link.awaiting.popleft(), number == wire.CHANNEL_SUCCESS)
        elif number == wire.CHANNEL_WINDOW_ADJUST:
            size = wire.u32.unpack_from(body)[0]
            link.widen(size)
            self._check_drained()
            # The sender on the other side may send as much more: capped where its window, which
            # counts the buffer too, would pass a uint32 (OpenSSH ends a connection for that).
            size = min(size, _WINDOW_MAX - partner.allowed)
            if size:
                partner.allowed += size
                partner.end.send(number, wire.u32x2.pack(partner.peer, size))
        elif number in _DATA:
            self._data(link, partner, number, memoryview(body))
        else:
            if number == wire.CHANNEL_CLOSE:
                link.drop_held()
                self._check_drained()
            partner.send_message(number, body)
            if number == wire.CHANNEL_CLOSE:
                link.got_close = partner.sent_close = True
                self._close_done(link)
                self._close_done(partner)

    def _channel_request(self, link: Link, partner: Link, body: bytes) -> None:
        refused = _REFUSED_CHANNEL_REQUESTS if link.end is self.user else frozenset()
        _pass_request(
            body, refused, link.replies, partner.awaiting, partner.send_message, wire.CHANNEL_REQUEST
        )

    def _data(self, link: Link, partner: Link, number: int, body: memoryview) -> None:
        """Pass data on, with the recipient rewritten, as a view of the packet it came in: the
        transport (``packets.PacketLayer.sendPacket``) copies it once, into the packet it seals."""
        code = 0
        if number == wire.CHANNEL_EXTENDED_DATA:
            code, size = wire.u32x2.unpack_from(body)
            data = body[8 : 8 + size]
        else:
            data = body[4 : 4 + wire.u32.unpack_from(body)[0]]
        size = len(data)
        if size > link.allowed:
            raise ProtocolError(f"sent {size} bytes of data with {link.allowed} left of its window")
        link.allowed -= size
        if link.end is self.user:
            self.bytes_to_device += size
        else:
            self.bytes_to_user += size
        partner.send_data(number, data, code)

    def _check_drained(self) -> None:
        if self.drained is not None and not self.holding_for_user():
            self.drained()

    def _close_done(self, link: Link) -> None:
        if link.got_close and link.sent_close:
            self._forget(link)

    def _forget(self, link: Link) -> None:
        """The channel is gone on ``link``'s side: its number is free, its buffer back in the pool."""
        link.end.channels.pop(link.local, None)
        self.buffer_left += link.buffer
        link.buffer = 0


def _pass_request(
    body: bytes,
    refused,
    replies: ReplyQueue,
    awaiting: deque,
    send: Callable[[int, bytes], None],
    number: int,
) -> None:
    """A global or channel request (``body`` from its name on): refused here when its name is in
    ``refused``, else sent on as ``send(number, body)``; either way answered in order by
    ``replies`` if it wants a reply (``awaiting``: the slots of the requests sent on, filled when
    the far side answers)."""
    name, rest = getNS(body)
    want_reply = rest[:1] == b"\x01"
    if name in refused:
        if want_reply:
            replies.answer_now(False)
        return
    send(number, body)
    if want_reply:
        awaiting.append(replies.expect())
