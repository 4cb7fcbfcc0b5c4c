"""The balena form, ``ssh USER@PROXY host DEVICE_UUID [COMMAND]``: the first exec picks the device.

The proxy must confirm the user's session channel before it learns the device, so it confirms
it with a zero window: the user cannot send data until the device's channel exists. Everything
the user sends meanwhile (pty-req, env, even EOF and close) is held in order. Once the device's
session channel is open (with the user's own window and packet size), the proxy opens the
user's window by what ``Relay.grant`` gives (the device's window and the relay's buffer),
replays what it held with the exec rewritten to ``shell`` or the bare command, and from then on
the channel is an ordinary relayed one: flow control on each side, exit status and replies
passed through.
"""

import re
from collections.abc import Callable

import attrs
from twisted.conch.ssh.common import NS, getNS

from services.ssh_proxy import wire
from services.ssh_proxy.relay import Link, Relay

_HOST = re.compile(rb"\s*host\s+(\S+)\s*(.*)", re.DOTALL)


def parse_exec(body: bytes) -> tuple[str, bytes] | None:
    """``(uuid, command)`` from an exec request body in the balena form, else None."""
    name, rest = getNS(body)
    if name != b"exec":
        return None
    match = _HOST.fullmatch(getNS(rest[1:])[0])
    if match is None:
        return None
    return match.group(1).decode("utf-8", "replace"), match.group(2)


def rewrite_exec(body: bytes, command: bytes) -> bytes:
    """The exec request body as the device should see it: ``shell``, or exec of ``command``."""
    want_reply = getNS(body)[1][:1]
    return NS(b"shell") + want_reply if not command else NS(b"exec") + want_reply + NS(command)


@attrs.define
class Bridge:
    """Holds the user's first session channel until its exec names the device."""

    relay: Relay
    choose: Callable[[str | None], None]  # dial the device named by the exec (None: no device named)
    link: Link | None = None
    window: int = 0
    max_packet: int = 0
    held: list[tuple[int, bytes]] = attrs.field(factory=list)
    chosen: bool = False

    def handle(self, number: int, payload: bytes) -> None:
        if self.link is None and number == wire.CHANNEL_OPEN:
            kind, rest = getNS(payload)
            if kind == b"session":
                self._confirm(*wire.u32x3.unpack_from(rest))
                return
        if not self.chosen and self._is_start(number, payload):
            self._start(payload)
            return
        self.held.append((number, payload))

    def _confirm(self, peer: int, window: int, max_packet: int) -> None:
        self.link = self.relay.user.new_link(peer)
        self.window, self.max_packet = window, max_packet
        self.relay.user.send(
            wire.CHANNEL_OPEN_CONFIRMATION, wire.u32x4.pack(peer, self.link.local, 0, wire.MAX_PACKET)
        )

    def _is_start(self, number: int, payload: bytes) -> bool:
        if number != wire.CHANNEL_REQUEST or self.link is None:
            return False
        if wire.u32.unpack_from(payload)[0] != self.link.local:
            return False
        return getNS(payload[4:])[0] in (b"shell", b"exec", b"subsystem")

    def _start(self, payload: bytes) -> None:
        self.chosen = True
        body = payload[4:]
        target = parse_exec(body)
        if target is None:
            self.held.append((wire.CHANNEL_REQUEST, payload))
            self.choose(None)
            return
        uuid, command = target
        self.held.append((wire.CHANNEL_REQUEST, payload[:4] + rewrite_exec(body, command)))
        self.choose(uuid)

    def open_on_device(self, ready: Callable[[], None], refused: Callable[[str], None]) -> None:
        """The device is authenticated: open its session channel; ``ready`` once it is open."""
        device_link = self.relay.open_on_device(self.link, b"session", self.window, self.max_packet)

        def opened(window: int, max_packet: int) -> None:
            device_link.on_open = device_link.on_open_failed = None
            grant = self.relay.grant(self.link, window)
            self.relay.user.send(wire.CHANNEL_WINDOW_ADJUST, wire.u32x2.pack(self.link.peer, grant))
            ready()

        device_link.on_open, device_link.on_open_failed = opened, refused

    def replay(self, forward: Callable[[int, bytes], None]) -> None:
        """Pass on what was held, in order, to the relay or to a refusal."""
        held, self.held = self.held, []
        for number, payload in held:
            forward(number, payload)
