"""The control protocol's framing and requests, imported by both sides: the supervisor's server
(``supervisor.runtime.control``) and its clients (``supervisor.runtime.client``, ``top``).

JSON lines, one object a line. A request is ``{"command": C, ...}``; every request gets one
answer line with ``"ok"``. After a ``watch`` answer the connection carries a stream of updates,
one a line: the records of :mod:`supervisor.status` (``update_to_json``). docs/control-protocol.md
describes it for people.

Nothing here imports attrs or the records: a health probe (``status --ready``) needs only this.
"""

import json

LIMIT = 65536
"""Longest request line, in bytes."""
COMMANDS = (
    "status", "health", "check", "start", "stop", "restart", "reload", "shutdown", "logs", "events", "watch",
)  # fmt: skip


def encode(message: dict) -> bytes:
    """One line: compact JSON and a newline."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def watch_request(
    status: bool = True, events: bool = True, backlog: int = 0, output: str | None = None, lines: int = 0
) -> dict:
    """A ``watch`` request: the status then its changes (``status``), new events (``events``, after
    the last ``backlog`` kept), and the lines ``output`` (a unit or service) writes (after the last
    ``lines`` kept of each)."""
    request: dict = {
        "command": "watch",
        "status": status,
        "events": events,
        "backlog": backlog,
        "lines": lines,
    }
    if output is not None:
        request["output"] = output
    return request
