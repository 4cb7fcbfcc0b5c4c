"""Everything the supervisor prints: children's output lines and its own events, one line each.

Text goes through rich with a coloured name prefix (colour only on a terminal); ``json`` writes
one object a line for log collectors. Environment values are never logged, and commands are
logged as written in the graph, before expansion, so secrets passed in the environment stay out.
Whatever is logged is also handed to ``feed`` (the runtime's :class:`~supervisor.runtime.feed.Feed`),
which keeps the recent past and pushes it to watchers.
"""

import datetime
import json
import sys
import time
from typing import TextIO

import attrs

FORMATS = ("text", "json")
_PALETTE = ("cyan", "magenta", "green", "yellow", "blue", "bright_cyan", "bright_magenta", "bright_green")
EVENT_STYLE = {  # the views colour events the same way
    "ready": "green",
    "done": "green",
    "available": "green",
    "recovered": "green",
    "failed": "bold red",
    "lost": "bold red",
    "degraded": "yellow",
    "exit": "yellow",
    "backoff": "yellow",
    "error": "bold red",
    "killed": "bold red",
}


# The level of each event in JSON lines, for log pipelines; any other event is "info", and so
# is a child's output line (its "stream" says stdout or stderr).
_EVENT_LEVEL = {
    "failed": "error",
    "error": "error",
    "killed": "error",
    "lost": "error",
    "exit": "warning",
    "restart": "warning",
    "backoff": "warning",
    "degraded": "warning",
    "check-failed": "warning",
    "check-retry": "warning",
    "leftover": "warning",
}


def inert(text: str) -> str:
    """``text`` with every control, format or separator character (ESC, ``\\r``, U+2028, bidi
    overrides) written as a Python escape, so it can neither drive a terminal nor split or
    overwrite a record. A tab stays."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() or char == "\t" else repr(char)[1:-1] for char in text)


def _escape(text: str) -> str:
    """``text`` inert on the operator's terminal (:func:`inert`), rich markup escaped: a child's
    output can neither drive the terminal nor split or overwrite a record."""
    from rich.markup import escape

    return escape(inert(text))


def _colour(name: str) -> str:
    return _PALETTE[sum(name.encode()) % len(_PALETTE)]


@attrs.define
class Log:
    """Writes output lines and events for units (``service`` or ``service@N``) and ``supervisor``."""

    format: str = "text"
    stream: TextIO = attrs.field(factory=lambda: sys.stdout)
    _console: object = attrs.field(init=False, default=None)
    _width: int = 10
    _gone: bool = False
    feed: object = None

    def __attrs_post_init__(self) -> None:
        if self.format == "text":  # rich only when it is used: the runtime stays small
            from rich.console import Console

            self._console = Console(file=self.stream, soft_wrap=True, highlight=False, emoji=False)

    def widen(self, names) -> None:
        """Align prefixes on the longest unit name."""
        self._width = max([self._width, *(len(n) for n in names)])

    def output(self, unit: str, stream: str, line: str) -> None:
        if self.feed is not None:
            self.feed.output(unit, stream, line)
        if self.format == "json":
            self._json({"unit": unit, "stream": stream, "line": line}, "info")
            return
        mark = "!" if stream == "stderr" else "|"
        self._text(unit, f"[dim]{mark}[/] {_escape(line)}")

    def event(self, unit: str, event: str, message: str = "", capability: str | None = None) -> None:
        if self.feed is not None:
            self.feed.event(unit, event, message, capability)
        if self.format == "json":
            about = {"capability": capability} if capability is not None else {}
            record = {"unit": unit, "event": event, "message": message, **about}
            self._json(record, _EVENT_LEVEL.get(event, "info"))
            return
        style = EVENT_STYLE.get(event, "bold")
        self._text(unit, f"[{style}]{event}[/] {_escape(message)}")

    def _text(self, unit: str, body: str) -> None:
        colour = "bold white" if unit == "supervisor" else _colour(unit.split("@")[0])
        self._write(lambda: self._console.print(f"[{colour}]{_escape(unit.ljust(self._width))}[/] {body}"))

    def _json(self, record: dict, level: str) -> None:
        """One object a line: ``time`` in ISO 8601 (UTC, microseconds), ``epoch`` in seconds, and
        ``level`` (info, warning, error), as log pipelines expect them."""
        service, _, replica = record["unit"].partition("@")
        now = time.time()
        record = {
            "time": datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat(timespec="microseconds"),
            "epoch": round(now, 6),
            "level": level,
            **record,
            "service": service,
            "replica": int(replica) if replica else None,
        }
        self._write(lambda: self.stream.write(json.dumps(record, ensure_ascii=False) + "\n"))

    def _write(self, write) -> None:
        """Write and flush; once the reader is gone (a closed pipe), logging stops, supervising does not."""
        if self._gone:
            return
        try:
            write()
            self.stream.flush()
        except OSError:
            self._gone = True
