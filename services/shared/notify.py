"""The service side of the sd_notify protocol: datagrams on ``$NOTIFY_SOCKET`` to the supervisor.

``READY=1`` says a service serves. ``X_CAPABILITY_BROKEN=NAME`` (with an optional
``X_REASON=one line``) is this project's extension (systemd ignores fields it does not know): a
service that finds a capability it depends on broken says so at once, so the supervisor checks
that capability now instead of at its next interval. Without ``NOTIFY_SOCKET`` (run by hand)
nothing is sent. A datagram that cannot be delivered (the supervisor gone, its queue full) is
dropped: telling is best effort and must never block or fail the service.
"""

import os
import socket
import time

from services.shared import log

REASON_LIMIT = 200  # characters of X_REASON: one short line


def send(*fields: str) -> bool:
    """Send ``fields`` (``KEY=VALUE`` lines) as one datagram; False if there is nowhere to send it."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            sock.sendto("\n".join(fields).encode(), address)
        except OSError:
            return False
    return True


def ready() -> None:
    """Tell the supervisor (or systemd) that the service serves."""
    send("READY=1")


class BrokenReports:
    """``X_CAPABILITY_BROKEN`` reports, at most one per capability per ``interval`` seconds.

    A burst of users meeting the same broken capability sends a handful of datagrams, not one each:
    the supervisor needs to hear it once to check it. ``reason`` must be the service's own words
    (an error code, never text a peer chose); it is escaped and bounded all the same.
    """

    def __init__(self, interval: float = 0.2, clock=time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self.last: dict[str, float] = {}

    def broken(self, capability: str, reason: str | None = None) -> bool:
        """Report ``capability`` broken unless it was reported less than ``interval`` ago; sent?"""
        now = self.clock()
        last = self.last.get(capability)
        if last is not None and now - last < self.interval:
            return False
        self.last[capability] = now
        fields = [f"X_CAPABILITY_BROKEN={capability}"]
        if reason:
            fields.append(f"X_REASON={log.printable(reason, REASON_LIMIT)}")
        return send(*fields)
