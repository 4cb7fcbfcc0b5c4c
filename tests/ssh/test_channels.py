"""The proxy's bookkeeping of a user's channels (``services.ssh_proxy.channels``), fed the SSH
messages a session exchanges: when has everything the user ran ended?

It decides whether a device going away failed anyone: after the session's exit status and close
reached the user, the device closing its connection first (a race with the user's own close) is
not a failure and must not be audited as ``device-closed``.
"""

from twisted.conch.ssh.common import NS

from services.ssh_proxy import wire
from services.ssh_proxy.channels import UserChannels


def opened(channels: UserChannels, peer: int, local: int, kind: bytes = b"session") -> None:
    assert channels.open(NS(kind) + wire.u32.pack(peer) + wire.u32.pack(2**20) + wire.u32.pack(2**15)) is None
    confirmation = wire.u32.pack(peer) + wire.u32.pack(local) + wire.u32.pack(2**20) + wire.u32.pack(2**15)
    channels.sent(wire.CHANNEL_OPEN_CONFIRMATION, confirmation)


def test_nothing_ran_is_not_finished():
    channels = UserChannels(max_sessions=4, max_channels=8)
    assert not channels.finished()  # ``ssh -N``: the device going is the user's loss
    opened(channels, 0, 100, b"direct-tcpip")
    channels.sent(wire.CHANNEL_CLOSE, wire.u32.pack(0))
    assert not channels.finished()  # a forward closed, but no session ever ran


def test_a_session_closed_to_the_user_is_finished_whoever_closes_last():
    channels = UserChannels(max_sessions=4, max_channels=8)
    opened(channels, 0, 100)
    assert not channels.finished()  # under way
    channels.sent(wire.CHANNEL_CLOSE, wire.u32.pack(0))  # exit status and close delivered
    assert channels.finished()  # the user's close not in yet: the race
    channels.received(wire.CHANNEL_CLOSE, wire.u32.pack(100))
    assert channels.finished() and channels.by_peer == {}  # closed both ways


def test_a_second_session_under_way_is_not_finished():
    channels = UserChannels(max_sessions=4, max_channels=8)
    opened(channels, 0, 100)
    channels.sent(wire.CHANNEL_CLOSE, wire.u32.pack(0))
    channels.received(wire.CHANNEL_CLOSE, wire.u32.pack(100))
    opened(channels, 1, 101)
    assert not channels.finished()
    channels.sent(wire.CHANNEL_OPEN, NS(b"forwarded-tcpip") + wire.u32.pack(102) + bytes(8))
    channels.sent(wire.CHANNEL_CLOSE, wire.u32.pack(1))
    assert not channels.finished()  # the device is opening a channel to the user
