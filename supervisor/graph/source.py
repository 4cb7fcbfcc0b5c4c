"""Where things are in a graph file: the line and column of every table, key and list item.

The TOML parser (:mod:`supervisor.graph.toml`) gives values but no positions, so this module reads
the same text a second time, only as far as keys, table headers and bracket nesting, and answers
"where is ``services.ssh-proxy.requires[1]``?". The index is built on the first question, so a
graph that lints clean never pays for it.
"""

import bisect
import itertools
import re
from collections.abc import Sequence
from typing import NamedTuple

import attrs

from supervisor.graph import toml

Path = tuple[str | int, ...]

_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_DOTTED_KEY = rf"{_KEY_PART}(?:[ \t]*\.[ \t]*{_KEY_PART})*"
_HEADER = re.compile(rf"[ \t]*\[\[?[ \t]*({_DOTTED_KEY})[ \t]*\]\]?")
_KEY_LINE = re.compile(rf"[ \t]*({_DOTTED_KEY})[ \t]*=[ \t]*")
_PARTS = re.compile(_KEY_PART)
_VALUE_TOKEN = re.compile(r'"""|\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|[\[\]{},]|#')
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#.*')
_BRACKET = re.compile(r"[\[\]{}]")
_TRACKED = re.compile(r"[\[\]{}]|\"\"\"|'''")
_BLANK = re.compile(r"(?:\s|#[^\n]*)*")
_BARE_ITEM = re.compile(r"[^,\]\}\n#]*")
# A value that ends on its own line: one-line strings, other characters, and brackets closed on
# the line (nested a few deep), then maybe a comment. Nearly every value of a graph is one, and
# matching it in one go is cheaper than tracking its brackets; possessive, so a line that is not
# one fails fast and is tracked as before. Only for lines with no triple quote (`a = """x"` is
# not a one-line string).
_ON_ONE_LINE = r"""(?:"(?:[^"\\\n]|\\.)*+"|'[^'\n]*+'|[^"'#\[\]{}\n]++)"""
_CLOSED = rf"[\[{{](?:{_ON_ONE_LINE})*+[\]}}]"
for _ in range(3):
    _CLOSED = rf"[\[{{](?:{_ON_ONE_LINE}|{_CLOSED})*+[\]}}]"
_ONE_LINE_VALUE = re.compile(rf"(?:{_ON_ONE_LINE}|{_CLOSED})*+(?:#.*)?$")


@attrs.frozen
class Location:
    """A point in a graph file, 1-based as editors and CI annotations count."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class _Entry(NamedTuple):
    """Where a key or table header is (0-based): a plain tuple, as large files hold many."""

    line: int
    column: int
    value_start: tuple[int, int] | None  # (line, column) of a key's value; None for a header


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
    _index: dict[Path, _Entry] | None = None
    _joined_lines: tuple[str, list[int]] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    def line_text(self, line: int) -> str:
        """The text of 1-based ``line``, or "" past the end."""
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def at(self, line: int, column: int) -> Location:
        return Location(self.file, line, column)

    def locate(self, path: Sequence[str | int]) -> Location:
        """The most precise location of ``path``: the key itself, or the nearest enclosing one."""
        index = self._build_index()
        path = tuple(path)
        for cut in range(len(path), 0, -1):
            entry = index.get(path[:cut])
            if entry is None:
                continue
            if cut < len(path) and entry.value_start is not None:
                inner = self._search_value(entry.value_start, path[cut:])
                if inner is not None:
                    return self.at(inner[0] + 1, inner[1] + 1)
            return self.at(entry.line + 1, entry.column + 1)
        return self.at(1, 1)

    def has(self, path: Sequence[str | int]) -> bool:
        """Whether the file writes the key or table ``path`` itself."""
        return tuple(path) in self._build_index()

    def _build_index(self) -> dict[Path, _Entry]:
        if self._index is not None:
            return self._index
        index: dict[Path, _Entry] = {}
        table: tuple[str, ...] = ()
        open_string: str | None = None
        depth = 0
        for number, line in enumerate(self.lines):
            start = 0
            if open_string is not None:
                end = line.find(open_string)
                if end < 0:
                    continue
                start, open_string = end + 3, None
            elif depth == 0:
                header = _HEADER.match(line)
                if header:
                    table = _split_key(header.group(1))
                    index.setdefault(table, _Entry(number, header.start(1) - 1, None))
                    continue
                key = _KEY_LINE.match(line)
                if key:
                    path = table + _split_key(key.group(1))
                    index.setdefault(path, _Entry(number, key.start(1), (number, key.end())))
                    if _ONE_LINE_VALUE.match(line, key.end()) and '"""' not in line and "'''" not in line:
                        continue
                    start = key.end()
            depth, open_string = _scan_value(line, start, depth)
        self._index = index
        return index

    @property
    def _joined(self) -> tuple[str, list[int]]:
        """The lines joined by newlines, and where each line starts in that text.

        Values are searched in this one text (not in a copy of the rest of the file per search),
        so locating every finding of a large file stays linear.
        """
        if self._joined_lines is None:
            starts = list(itertools.accumulate((len(line) + 1 for line in self.lines), initial=0))
            self._joined_lines = ("\n".join(self.lines), starts)
        return self._joined_lines

    def _search_value(self, start: tuple[int, int], rest: Path) -> tuple[int, int] | None:
        """Find ``rest`` (keys of inline tables, indices of arrays) inside the value at ``start``."""
        text, starts = self._joined
        offset = starts[start[0]] + start[1]
        report = offset
        for component in rest:
            found = _find_in_value(text, offset, component)
            if found is None:
                return None
            report, offset = found
        line = bisect.bisect_right(starts, report) - 1
        return line, report - starts[line]


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
        key = re.compile(rf"(?<![\w\"'-])(?:{re.escape(component)}|\"{re.escape(component)}\")[ \t]*=[ \t]*")
        found = key.search(text, position + 1, close)
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
