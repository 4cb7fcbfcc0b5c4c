"""One audit line per user session on stdout: who reached what, for how long, how much, and how it ended.

JSON, so log pipelines need no parser of their own; it names keys and users, never key material.
Every text is bounded: a device name comes as the user typed it, valid or not.
"""

import json
import os
import sys
import time

import attrs

from services.shared import log

FIELD_LIMIT = 100  # characters of one text (names are at most 64)


def _bounded(value):
    return log.printable(value, FIELD_LIMIT) if isinstance(value, str) else value


@attrs.define
class SessionRecord:
    user: str
    device: str | None
    peer: str
    via: str | None = None  # the delegate (the web terminal) that logged in for the user
    started: float = attrs.field(factory=time.time)
    result: str = "ok"
    held_ms: int = 0  # how long the connection was held while a capability was broken (``hold``)
    held_for: str | None = None  # the capability it waited for

    def emit(self, bytes_to_device: int, bytes_to_user: int) -> None:
        record = {
            "event": "session",
            "user": self.user,
            "device": self.device,
            "peer": self.peer,
            "via": self.via,
            "worker": os.getpid(),
            "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "duration_s": round(time.time() - self.started, 3),
            "bytes_to_device": bytes_to_device,
            "bytes_to_user": bytes_to_user,
            "result": self.result,
            "held_ms": self.held_ms,
            "held_for": self.held_for,
        }
        sys.stdout.write(json.dumps({name: _bounded(value) for name, value in record.items()}) + "\n")
        sys.stdout.flush()
