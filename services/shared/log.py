"""The one twisted.logger observer of every service: one safe stderr line per event.

twisted.logger's own ``formatEvent`` is not safe for a network service. It resolves
``{a.b}`` attribute lookups and calls ``{a()}`` in an event's format string, and Conch
sometimes puts peer bytes into that format string (SECURITY.md: one algorithm name wrote the
proxy's private host keys to the log, another stopped its reactor). So this observer never calls
it. It renders an event from the literal text of ``log_format`` and from top-level fields only:

- a replacement field is looked up only when it is a plain field name (``{user}``); anything
  else (``{log_source.transport}``, ``{clock.stop()}``, ``{0}``) stays as literal text. Format
  specs are ignored (``{x:>999999999}`` would build a gigabyte); ``!r`` and ``!s`` are kept.
- a field's value is shown only if it is text, bytes, a number, a constant or an exception;
  anything else is just ``<TypeName>``, never its repr: Conch's ``Key`` repr is the private key.
- control, format and separator characters (newlines, ESC, bidi overrides, lone surrogates) are
  escaped as in Python literals, so an event is exactly one line and cannot forge another.
- each field and the whole line are bounded, so a 64 KB user name makes a short line.
- a failure is its type, message and innermost frame, not a 20-line traceback.

Peer text therefore belongs in a field (``log.info("user {user!r} refused", user=name)``), which
is the only way it is ever shown; peer text that reaches ``log_format`` anyway shows as inert text.
"""

import enum
import os
import string
import sys
from collections.abc import Callable

from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
)
from twisted.python.failure import Failure

MAX_FIELD = 300  # characters (or bytes) of one field's value
MAX_LINE = 2000  # characters of one event
_MAX_DEPTH = 2  # levels of nested lists and tuples shown
_MAX_ITEMS = 8  # items of one list or tuple shown
_CONSTANTS = (enum.Enum, type(LogLevel.info))  # shown by name
_parse = string.Formatter().parse


def _more(size: int, limit: int) -> str:
    return f"...[{size - limit} more]" if size > limit else ""


def _escape(text: str) -> str:
    """``text`` with every non-printable character written as a Python escape (``\\n``, ``\\x1b``)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def printable(text: str, limit: int = MAX_FIELD) -> str:
    """Peer text made safe to show on one line anywhere (a log, a user's terminal, an audit
    record): escaped as in this log, and cut at ``limit`` characters, saying how many more."""
    return _escape(text[:limit]) + _more(len(text), limit)


def _int(value: int) -> str:
    try:
        return int.__repr__(value)
    except ValueError:  # more digits than Python converts
        return f"<int of {value.bit_length()} bits>"


def _value(value: object, conversion: str | None = None, depth: int = 0) -> str:
    """A field's value as bounded text, never through an arbitrary object's ``__repr__``."""
    if isinstance(value, str):
        text = str.__str__(value)[:MAX_FIELD]
        return (repr(text) if conversion == "r" else text) + _more(len(value), MAX_FIELD)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return repr(bytes(value[:MAX_FIELD])) + _more(len(value), MAX_FIELD)
    if value is None or isinstance(value, (bool, float)):
        return repr(value)
    if isinstance(value, int):
        return _int(value)
    if isinstance(value, Failure):
        return _failure(value)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {_value(str(value))}"
    if isinstance(value, _CONSTANTS):
        return _value(value.name)
    if isinstance(value, (list, tuple)) and depth < _MAX_DEPTH:
        items = [_value(item, "r", depth + 1) for item in value[:_MAX_ITEMS]]
        return "[" + ", ".join(items) + _more(len(value), _MAX_ITEMS) + "]"
    return f"<{type(value).__name__}>"


def _failure(failure: Failure) -> str:
    """``Type: message (at file.py:123 in function)``: where it failed, without the traceback."""
    text = f"{getattr(failure.type, '__name__', 'Exception')}: {_value(failure.getErrorMessage())}"
    if failure.frames:
        function, path, line = failure.frames[-1][:3]
        text += f" (at {os.path.basename(path)}:{line} in {function})"
    return text


def _fields(event: dict, text: str) -> str:
    """``text`` (a format string) with each plain ``{name}`` replaced by that field's value."""
    out: list[str] = []
    size = 0
    for literal, name, spec, conversion in _parse(text):
        out.append(literal)
        size += len(literal)
        if name is not None:
            if name.isidentifier() and name in event:
                out.append(_value(event[name], conversion))
            else:  # shown as it was written
                conversion = f"!{conversion}" if conversion else ""
                out.append("{" + name + conversion + (f":{spec}" if spec else "") + "}")
            size += len(out[-1])
        if size > MAX_LINE:  # a format string repeating {log_format} must not grow without end
            break
    return "".join(out)


def _message(event: dict) -> str:
    fmt = event.get("log_format")
    if fmt is None:
        return ""
    if isinstance(fmt, bytes):
        fmt = fmt.decode("utf-8", "replace")
    if not isinstance(fmt, str):
        return _value(fmt)
    fmt = fmt[: 2 * MAX_LINE]
    try:
        return _fields(event, fmt)
    except ValueError:  # unbalanced braces: the format string is shown as it is
        return fmt


def render(event: dict) -> str:
    """One event as one line of printable text, at most about MAX_LINE characters."""
    failure = event.get("log_failure")
    if failure is None and event.get("isError") and isinstance(event.get("failure"), Failure):
        # A twisted.python.log.err event: its log_text holds the whole traceback.
        failure = event["failure"]
        text = _value(event.get("why") or "Unhandled Error")
    else:
        text = _message(event)
    if isinstance(failure, Failure):
        text = f"{text}: {_failure(failure)}" if text else _failure(failure)
    text = _escape(text)
    return text[:MAX_LINE] + _more(len(text), MAX_LINE)


def observer(name: str) -> Callable[[dict], None]:
    """An observer writing ``NAME[PID]: line`` on stderr for each event that has any text."""

    def observe(event: dict) -> None:
        try:
            line = render(event)
        except Exception:  # never let one odd event disable the observer
            line = f"unprintable log event from {_escape(_value(event.get('log_namespace')))}"
        if not line:
            return
        sys.stderr.write(f"{name}[{os.getpid()}]: {line}\n")
        sys.stderr.flush()

    return observe


def start(name: str, level: LogLevel = LogLevel.warn) -> None:
    """Send every twisted.logger event of this process at ``level`` or above to ``observer(name)``."""
    predicate = LogLevelFilterPredicate(defaultLogLevel=level)
    filtered = FilteringLogObserver(observer(name), [predicate])
    globalLogBeginner.beginLoggingTo([filtered], redirectStandardIO=False)
