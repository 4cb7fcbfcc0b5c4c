"""One audit line per user session on stdout: who reached what, for how long, how much, and how it ended.

JSON, so log pipelines need no parser of their own; it names keys and users, never key material.
"""

import json
import os
import sys
import time

import attrs


@attrs.define
class SessionRecord:
    user: str
    device: str | None
    peer: str
    via: str | None = None  # the delegate (the web terminal) that logged in for the user
    started: float = attrs.field(factory=time.time)
    result: str = "ok"

    def emit(self, bytes_to_device: int, bytes_to_user: int) -> None:
        line = {
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
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
