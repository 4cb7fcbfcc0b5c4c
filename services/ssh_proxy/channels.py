"""The user's channels, mirrored from the messages that cross the user's connection.

Three parts answer a user's channels in turn (the bridge, the relay, a refusal), and two things
need the whole connection's view: ``MaxSessions`` (session channels open at once, however they
are answered) with ``max_channels`` (channels of every type, opened by either side) and, when
the device drops, which sessions to tell and whether each has a pty. So the connection passes
every message it receives and sends through here, and this keeps the states by the user's
channel number. As in OpenSSH, a channel counts from the user's open until its open failed or
both sides have sent their close.
"""

import attrs
from twisted.conch.ssh.common import getNS

from services.ssh_proxy import wire
from services.ssh_proxy.relay import ProtocolError


class ChannelNumberReused(ProtocolError):
    """The user opened a channel under a number still in use: a broken or hostile client."""

    def __str__(self) -> str:
        return f"channel number {self.args[0]} is still in use"


@attrs.define
class Channel:
    session: bool
    local: int | None = None  # the proxy's number for it, once the open is confirmed
    pty: bool = False
    sent_close: bool = False
    got_close: bool = False


@attrs.define
class UserChannels:
    max_sessions: int
    max_channels: int
    by_peer: dict[int, Channel] = attrs.field(factory=dict)  # by the user's channel number
    by_local: dict[int, int] = attrs.field(factory=dict)  # the proxy's number -> the user's
    opening: set[int] = attrs.field(factory=set)  # the proxy's numbers of channels the device opens
    ended: int = 0  # session channels closed both ways

    def sessions(self) -> int:
        return sum(channel.session for channel in self.by_peer.values())

    def finished(self) -> bool:
        """Whether the user's sessions have all ended: at least one ran, and every channel left has
        been closed to the user (its exit status delivered), none still opening. A device that
        goes away then has failed nobody."""
        left = self.by_peer.values()
        ran = self.ended + sum(channel.session for channel in left)
        return ran > 0 and all(channel.sent_close for channel in left) and not self.opening

    def full(self) -> str | None:
        """Why no channel of any type may open now (by the user or the device), or None."""
        if len(self.by_peer) + len(self.opening) >= self.max_channels:
            return f"too many channels on this connection (at most {self.max_channels})"
        return None

    def open(self, payload: bytes) -> str | None:
        """The user's CHANNEL_OPEN: None if admitted, else why it must fail."""
        kind, rest = getNS(payload)
        peer = wire.u32.unpack_from(rest)[0]
        if peer in self.by_peer:
            raise ChannelNumberReused(peer)
        session = kind == b"session"
        if session and self.sessions() >= self.max_sessions:
            return f"too many sessions on this connection (at most {self.max_sessions})"
        if (why := self.full()) is not None:
            return why
        self.by_peer[peer] = Channel(session)
        return None

    def received(self, number: int, payload: bytes) -> None:
        """A message from the user, after ``open`` for CHANNEL_OPEN."""
        if number in (wire.CHANNEL_OPEN_CONFIRMATION, wire.CHANNEL_OPEN_FAILURE):
            local = wire.u32.unpack_from(payload)[0]
            if local not in self.opening:  # not a channel the device opened
                return
            self.opening.discard(local)
            if number == wire.CHANNEL_OPEN_CONFIRMATION:
                peer = wire.u32.unpack_from(payload, 4)[0]
                if peer in self.by_peer:
                    raise ChannelNumberReused(peer)
                self._confirmed(peer, local, Channel(False))
        elif number == wire.CHANNEL_REQUEST:
            channel = self._by_local(payload)
            if channel is not None and getNS(payload[4:])[0] == b"pty-req":
                channel.pty = True
        elif number == wire.CHANNEL_CLOSE:
            channel = self._by_local(payload)
            if channel is not None:
                channel.got_close = True
                self._forget_if_closed(channel)

    def sent(self, number: int, payload: bytes) -> None:
        """A message to the user."""
        if number == wire.CHANNEL_OPEN:
            self.opening.add(wire.u32.unpack_from(getNS(payload)[1])[0])
            return
        peer = wire.u32.unpack_from(payload)[0]
        channel = self.by_peer.get(peer)
        if channel is None:
            return
        if number == wire.CHANNEL_OPEN_CONFIRMATION:
            self._confirmed(peer, wire.u32.unpack_from(payload, 4)[0], channel)
        elif number == wire.CHANNEL_OPEN_FAILURE:
            del self.by_peer[peer]
        elif number == wire.CHANNEL_CLOSE:
            channel.sent_close = True
            self._forget_if_closed(channel)

    def _confirmed(self, peer: int, local: int, channel: Channel) -> None:
        channel.local = local
        self.by_peer[peer] = channel
        self.by_local[local] = peer

    def _by_local(self, payload: bytes) -> Channel | None:
        peer = self.by_local.get(wire.u32.unpack_from(payload)[0])
        return None if peer is None else self.by_peer.get(peer)

    def _forget_if_closed(self, channel: Channel) -> None:
        if channel.sent_close and channel.got_close:
            del self.by_peer[self.by_local.pop(channel.local)]
            self.ended += channel.session
