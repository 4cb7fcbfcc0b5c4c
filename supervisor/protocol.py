"""The control protocol's messages, imported by both sides: the supervisor's server
(``supervisor.runtime.control``) and its clients (``supervisor.runtime.client``, ``top``).

JSON lines, one object a line. A request is ``{"command": C, ...}``; every request gets one
answer line with ``"ok"``. After a ``watch`` answer the connection carries a stream of updates,
one a line, each an object with one key saying what it is (see :func:`update_to_json`).
docs/control-protocol.md describes it for people.
"""

import json

import attrs

from supervisor.status import CapabilityStatus, Event, GraphStatus, OutputLine, UnitStatus

LIMIT = 65536
"""Longest request line, in bytes."""
COMMANDS = ("status", "start", "stop", "restart", "shutdown", "logs", "events", "watch")


@attrs.frozen
class Lost:
    """The watcher fell behind and ``count`` updates were dropped for it; the updates that follow
    bring every unit and capability up to date again (events and lines in between are gone)."""

    count: int


Update = UnitStatus | CapabilityStatus | Event | OutputLine | GraphStatus | Lost
_KEYS = {
    UnitStatus: "unit",
    CapabilityStatus: "capability",
    Event: "event",
    OutputLine: "output",
    GraphStatus: "status",
}
_TYPES = {key: kind for kind, key in _KEYS.items()}


def encode(message: dict) -> bytes:
    """One line: compact JSON and a newline."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def update_to_json(update: Update) -> dict:
    """``{"unit": UNIT}``, ``{"capability": CAP}``, ``{"event": EVENT}``, ``{"output": LINE}``,
    ``{"status": STATUS}`` or ``{"lost": N}``."""
    if isinstance(update, Lost):
        return {"lost": update.count}
    return {_KEYS[type(update)]: update.to_json()}


def update_from_json(message: dict) -> Update:
    """The typed update of one stream line (ValueError if it is none)."""
    if "lost" in message:
        return Lost(message["lost"])
    for key, kind in _TYPES.items():
        if key in message:
            return kind.from_json(message[key])
    raise ValueError(f"not a watch update: {sorted(message)}")


def watch_request(
    status: bool = True, events: bool = True, backlog: int = 0, output: str | None = None, lines: int = 0
) -> dict:
    """A ``watch`` request: the status then its changes (``status``), new events (``events``, after
    the last ``backlog`` kept), and the lines ``output`` (a unit or service) writes (after the last
    ``lines`` kept of each unit)."""
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
