"""Where things are in a graph file: the line and column of every table, key and list item.

The TOML parser (:mod:`supervisor.graph.toml`) gives values but no positions, so this module reads
the same text a second time, only as far as keys, table headers and bracket nesting, and answers
"where is ``services.ssh-proxy.requires[1]``?". The index is built on the first question, so a
graph that lints clean never pays for it. Lines end at a line feed alone, as TOML's do (a carriage
return before it is part of the line break): a string holding U+2028 or U+0085 does not start a line.
"""

import bisect
import functools
import itertools
import re
from collections.abc import Sequence

import attrs

from supervisor.graph import toml

Path = tuple[str | int, ...]

# Strings on one line, written unrolled (runs of plain characters, then an escape) and possessive:
# several times faster to match than a choice per character.
_BASIC_STRING = r'"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"'
_LITERAL_STRING = r"'[^'\n]*+'"
_KEY_PART = rf"(?:[A-Za-z0-9_-]++|{_BASIC_STRING}|{_LITERAL_STRING})"
_DOTTED_KEY = rf"{_KEY_PART}(?:[ \t]*\.[ \t]*{_KEY_PART})*"
_PARTS = re.compile(_KEY_PART)
_VALUE_TOKEN = re.compile(rf"\"\"\"|'''|{_BASIC_STRING}|{_LITERAL_STRING}|[\[\]{{}},]|#")
_STRING_OR_COMMENT = re.compile(rf"{_BASIC_STRING}|{_LITERAL_STRING}|#.*")
_BRACKET = re.compile(r"[\[\]{}]")
_TRACKED = re.compile(r"[\[\]{}]|\"\"\"|'''")
_BLANK = re.compile(r"(?:\s|#[^\n]*)*")
_BARE_ITEM = re.compile(r"[^,\]\}\n#]*")
# A value that ends on its own line: one-line strings, other characters, and brackets closed on
# the line (nested a few deep), then maybe a comment. Nearly every value of a graph is one, and
# matching it in one go is cheaper than tracking its brackets; possessive, so a line that is not
# one fails fast and is tracked. Only for values with no triple quote (`a = """x"` is not a
# one-line string).
_ON_ONE_LINE = rf"""(?:{_BASIC_STRING}|{_LITERAL_STRING}|[^"'#\[\]{{}}\n]++)"""
_CLOSED = rf"[\[{{](?:{_ON_ONE_LINE})*+[\]}}]"
for _ in range(3):
    _CLOSED = rf"[\[{{](?:{_ON_ONE_LINE}|{_CLOSED})*+[\]}}]"
_CLOSED_VALUE = re.compile(_CLOSED)
# What the index holds: a table header, or a key (and its value, when it ends on the line), at the
# start of a line. Found in the whole text in one pass, in C; those inside a multi-line value are
# passed over. A bare key of one word (nearly every key) has a group of its own: it is the path.
_ENTRY = re.compile(
    rf"^[ \t]*(?:\[\[?[ \t]*(?P<header>{_DOTTED_KEY})[ \t]*\]\]?"
    rf"|(?:(?P<bare>[A-Za-z0-9_-]++)(?![ \t]*\.)|(?P<key>{_DOTTED_KEY}))"
    rf"[ \t]*=[ \t]*(?P<one_line>(?:{_ON_ONE_LINE}|{_CLOSED})*+(?:#.*)?$)?)",
    re.MULTILINE,
)
# A key and its equals sign: where its value starts, for the few paths that go inside a value.
_KEY_AND_EQUALS = re.compile(rf"{_DOTTED_KEY}[ \t]*=[ \t]*")


@attrs.frozen
class Location:
    """A point in a graph file, 1-based as editors and CI annotations count."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def _unquote(part: str) -> str:
    if part[0] in "\"'":
        return toml.parse(f"k = {part}")["k"]
    return part


def _split_key(dotted: str) -> tuple[str, ...]:
    # Nearly every key is bare, and most are one word: split it without the regex and the unquoting.
    if '"' not in dotted and "'" not in dotted:
        if "." not in dotted:
            return (dotted,)
        return tuple(dotted.replace(" ", "").replace("\t", "").split("."))
    return tuple(_unquote(p) for p in _PARTS.findall(dotted))


@attrs.define
class Source:
    """The text of one graph file, with a lazily built index of its keys."""

    file: str
    text: str
    _lines: list[str] | None = None
    _index: dict[Path, int] | None = None
    """Where each key and table header is written: the offset of the key, or of the header's ``[``."""
    _line_starts: list[int] | None = None

    @property
    def lines(self) -> list[str]:
        """The lines, split at line feeds alone (no empty last one after a final line feed)."""
        if self._lines is None:
            self._lines = self.text.split("\n")
            if self._lines[-1] == "":
                self._lines.pop()
        return self._lines

    def line_text(self, line: int) -> str:
        """The text of 1-based ``line`` (without the carriage return of a CRLF), or "" past the end."""
        return self.lines[line - 1].removesuffix("\r") if 0 < line <= len(self.lines) else ""

    def at(self, line: int, column: int) -> Location:
        return Location(self.file, line, column)

    def locate(self, path: Sequence[str | int]) -> Location:
        """The most precise location of ``path``: the key itself, or the nearest enclosing one."""
        index = self._build_index()
        path = tuple(path)
        offset = index.get(path)
        if offset is not None:  # nearly every path asked for is written as it is
            return self._at_offset(offset)
        for cut in range(len(path) - 1, 0, -1):
            offset = index.get(path[:cut])
            if offset is None:
                continue
            value = _KEY_AND_EQUALS.match(self.text, offset)  # None for a table header
            if value is not None:
                inner = self._search_value(value.end(), path[cut:])
                if inner is not None:
                    return self._at_offset(inner)
            return self._at_offset(offset)
        return self.at(1, 1)

    def has(self, path: Sequence[str | int]) -> bool:
        """Whether the file writes the key or table ``path`` itself."""
        return tuple(path) in self._build_index()

    def _at_offset(self, offset: int) -> Location:
        if self._line_starts is None:
            self._line_starts = [0, *itertools.accumulate(len(line) + 1 for line in self.lines)]
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return Location(self.file, line + 1, offset - self._line_starts[line] + 1)

    def _build_index(self) -> dict[Path, int]:
        """Every key and header: one regular expression over the whole text finds them (several
        times faster than a loop over the lines), and the few values that span lines are tracked
        to their end, so that what their lines hold is not taken for keys."""
        if self._index is not None:
            return self._index
        index: dict[Path, int] = {}
        first = index.setdefault  # the first place a path is written is where it is
        table: tuple[str, ...] = ()
        text = self.text
        value_end = 0  # where the last value that spans lines ends
        for found in _ENTRY.finditer(text):
            if value_end and found.start() < value_end:
                continue  # a line inside a multi-line value, however it looks
            header, bare, key, one_line = found.groups()  # groups 1 to 4, by number below (cheaper)
            if bare is not None:
                first(table + (bare,), found.start(2))
            elif header is not None:
                table = _split_key(header)
                first(table, found.start(1) - 1)
                continue
            else:
                first(table + _split_key(key), found.start(3))
            if one_line is None or '"""' in one_line or "'''" in one_line:
                value_end = _value_end(text, found.end() if one_line is None else found.start(4))
        self._index = index
        return index

    def _search_value(self, offset: int, rest: Path) -> int | None:
        """Where ``rest`` (keys of inline tables, indices of arrays) is inside the value at ``offset``."""
        report = offset
        for component in rest:
            found = _find_in_value(self.text, offset, component)
            if found is None:
                return None
            report, offset = found
        return report


def _value_end(text: str, start: int) -> int:
    """Where the line ends on which the value at ``start`` ends: brackets and multi-line strings
    tracked line by line (the values that do not end on their first line)."""
    depth, open_string = 0, None
    while True:
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end]
        begin = 0
        if open_string is not None:
            close = line.find(open_string)
            begin, open_string = (len(line), open_string) if close < 0 else (close + 3, None)
        if open_string is None:
            depth, open_string = _scan_value(line, begin, depth)
        if (depth == 0 and open_string is None) or end == len(text):
            return end
        start = end + 1


def _scan_value(line: str, start: int, depth: int) -> tuple[int, str | None]:
    """Track bracket depth and open multi-line strings across one line of a value."""
    if not _TRACKED.search(line, start):
        return depth, None  # most lines are a plain `key = "value"`: nothing to track
    if '"""' not in line and "'''" not in line:
        # The common case: drop strings and any comment in one pass, leaving only brackets to count.
        for bracket in _BRACKET.findall(_STRING_OR_COMMENT.sub("", line[start:])):
            depth = depth + 1 if bracket in "[{" else max(0, depth - 1)
        return depth, None
    for token in _VALUE_TOKEN.finditer(line, start):
        text = token.group()
        if text == "#":
            break
        if text in ('"""', "'''"):
            end = line.find(text, token.end())
            if end < 0:
                return depth, text
            return _scan_value(line, end + 3, depth)
        if text in "[{":
            depth += 1
        elif text in "]}":
            depth = max(0, depth - 1)
    return depth, None


def _find_in_value(text: str, offset: int, component: str | int) -> tuple[int, int] | None:
    """Where ``component`` (an inline-table key or an array index) sits in the value at ``offset``.

    Returns the offset to report and the offset of the component's own value, or None.
    """
    position = _BLANK.match(text, offset).end()
    if position >= len(text) or text[position] not in "[{":
        return None
    opener = text[position]
    close = _matching_close(text, position + 1)
    if isinstance(component, str):
        if opener != "{":
            return None
        found = _inline_key(component).search(text, position + 1, close)
        return (found.start(), found.end()) if found else None
    if opener != "[":
        return None
    position += 1
    for _ in range(component):
        position = _BLANK.match(text, position).end()
        if position >= close:
            return None
        position = _skip_item(text, position, close)
        position = _BLANK.match(text, position).end()
        if position < close and text[position] == ",":
            position += 1
    position = _BLANK.match(text, position).end()
    return (position, position) if position < close else None


@functools.lru_cache(maxsize=64)  # a graph's inline tables have few keys (exec, tcp, ...), asked for often
def _inline_key(component: str) -> re.Pattern[str]:
    """Key ``component`` of an inline table, bare or quoted, and its ``=``."""
    return re.compile(rf"(?<![\w\"'-])(?:{re.escape(component)}|\"{re.escape(component)}\")[ \t]*=[ \t]*")


def _skip_item(text: str, position: int, close: int) -> int:
    first = text[position]
    if first in "\"'":
        for delimiter in ('"""', "'''"):
            if text.startswith(delimiter, position):
                end = text.find(delimiter, position + 3)
                return close if end < 0 else end + 3
        token = _VALUE_TOKEN.match(text, position)
        return token.end() if token else close
    if first in "[{":
        return _matching_close(text, position + 1) + 1
    return _BARE_ITEM.match(text, position).end()


def _matching_close(text: str, position: int) -> int:
    """Where the bracket closing the one just before ``position`` is (the end of the text if none).
    A value closed on its line is matched in one go, as the index matches it (nearly all are:
    lint locates thousands of probes' ``exec`` this way); the others are tracked token by token."""
    closed = _CLOSED_VALUE.match(text, position - 1)
    if closed is not None and '"""' not in closed.group() and "'''" not in closed.group():
        return closed.end() - 1
    return _tracked_close(text, position)


def _tracked_close(text: str, position: int) -> int:
    depth = 1
    while True:
        token = _VALUE_TOKEN.search(text, position)
        if token is None:
            return len(text)
        value = token.group(0)
        position = token.end()
        if value in ('"""', "'''"):
            end = text.find(value, position)
            position = len(text) if end < 0 else end + 3
        elif value in "[{":
            depth += 1
        elif value in "]}":
            depth -= 1
            if depth == 0:
                return token.start()
