"""Findings as text for people, JSON for scripts, SARIF for code scanning, annotations for GitHub."""

import json
import re
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, TextIO

from supervisor import __version__
from supervisor.check.findings import Finding, Severity, count
from supervisor.check.lint import RULES
from supervisor.graph.source import Location, Source

if TYPE_CHECKING:  # rich is loaded for text only: JSON, SARIF and GitHub output start without it
    from rich.console import Console

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
FORMATS = ("text", "json", "sarif", "github")


def summary(findings: Sequence[Finding], files: int) -> dict[str, int]:
    return {"files": files, **{f"{k}s" if k != "info" else k: v for k, v in count(list(findings)).items()}}


def _where(finding: Finding) -> str:
    """The variant a finding holds in, worded as the messages word it."""
    return str(finding.variant)


Piece = tuple[str, str | None]
"""A piece of plain text, in a rich style or none."""
_LINE_END: Piece = ("\n", None)
"""Where a line ends, among a block's pieces (this object: a piece of text may hold a line feed)."""
_TEXT = itemgetter(0)

# What rich changes in the text it prints: control characters other than the line feed
# (stripped, or tabs expanded).
_REWRITTEN_BY_RICH = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def render_text(console: "Console", findings: Sequence[Finding], sources: dict[str, Source]) -> None:
    """Findings grouped by file, each with its source line and a caret under the column."""
    by_file: dict[str, list[Finding]] = {}
    for finding in findings:
        by_file.setdefault(finding.location.file, []).append(finding)
    codes = _style_codes(console)
    for file, group in by_file.items():
        _write(console, codes, file, group, sources.get(file))
        console.print()
    totals = summary(findings, len(sources))
    style = "bold red" if totals["errors"] else ("yellow" if totals["warnings"] else "green")
    files = f"{totals['files']} file" + ("s" if totals["files"] != 1 else "")
    console.print(
        f"[{style}]{totals['errors']} error(s), {totals['warnings']} warning(s), {totals['info']} info[/] in {files}"
    )


def _finding_pieces(finding: Finding, source: Source | None) -> list[Piece]:
    """Where, which rule and in which variant; the message; the source line with a caret under the
    column: the lines as one list of pieces, each line ended by _LINE_END (one list a finding,
    joined in one call when it is written as plain text)."""
    style = _STYLE[finding.severity]
    location = finding.location
    pieces: list[Piece] = [
        ("  ", None),
        (f"{location.line}:{location.column}", "dim"),
        (" ", None),
        (finding.severity.value, style),
        (" ", None),
        (finding.rule.id, "bold"),
        (" ", None),
        (f"({_where(finding)})", "dim"),
        _LINE_END,
        (f"    {finding.message}", None),
        _LINE_END,
    ]
    line = source.line_text(location.line) if source is not None else ""
    if line:
        gutter = f"{location.line:>6} | "
        pieces += [
            (gutter, "dim"),
            (line.expandtabs(1), None),
            _LINE_END,
            (" " * (len(gutter) + location.column - 1), None),
            ("^", style),
            _LINE_END,
        ]
    return pieces


def _write(
    console: "Console", codes: dict[str, tuple[str, str]], file: str, findings: list[Finding], source: Source | None
) -> None:
    """Print the file's name and its findings as rich prints them, without rich's rendering, which
    costs seconds for the 19,000 findings of 10,000 services: each piece written between the
    codes rich writes around its style on this console. Without colour (a pipe, a file, a CI log:
    no codes) that is their plain text, all of it written at once. Text rich would change
    (control characters; the file's findings then made again, finding by finding) goes through
    rich, as styled text, never as markup: a graph's own text (a command, a source line) is shown
    as it is written, ``[bold]``, backslashes and ``:smile:`` included."""
    if not any(start or end for start, end in codes.values()):
        plain = "".join(map(_TEXT, chain.from_iterable(_blocks(file, findings, source))))
        if not _REWRITTEN_BY_RICH.search(plain):
            console.file.write(plain)
            return
    from rich.text import Text

    for pieces in _blocks(file, findings, source):
        if _REWRITTEN_BY_RICH.search("".join(map(_TEXT, pieces))):
            for line in _lines(pieces):
                console.print(Text.assemble(*line))
        else:
            console.file.write("".join([_wrapped(codes, text, style) for text, style in pieces]))


def _lines(pieces: list[Piece]) -> Iterator[list[Piece]]:
    """The lines of ``pieces``, each without its _LINE_END."""
    line: list[Piece] = []
    for piece in pieces:
        if piece is _LINE_END:
            yield line
            line = []
        else:
            line.append(piece)


def _wrapped(codes: dict[str, tuple[str, str]], text: str, style: str | None) -> str:
    if style is None or text == "":
        return text
    start, end = codes[style]
    return start + text + end


def _style_codes(console: "Console") -> dict[str, tuple[str, str]]:
    """The codes ``console`` writes before and after a piece in each style the findings use,
    learnt by printing one, so its colour system and NO_COLOR are honoured as rich honours them."""
    from rich.text import Text

    codes = {}
    for style in ("dim", "bold", "bold underline", *_STYLE.values()):
        with console.capture() as captured:
            console.print(Text("x", style=style), end="")
        start, _, end = captured.get().partition("x")
        codes[style] = (start, end)
    return codes


def _blocks(file: str, findings: list[Finding], source: Source | None) -> Iterator[list[Piece]]:
    """The pieces of the file's name, then of each of its findings."""
    yield [(file, "bold underline"), _LINE_END]
    for finding in findings:
        yield _finding_pieces(finding, source)


# How indent=2 lays out an object in the findings list: its braces, and between its keys.
_OPEN, _KEYS, _CLOSE = "{\n      ", ",\n      ", "\n    }"


def render_json(findings: Sequence[Finding], files: int) -> list[str]:
    """The findings and their summary, laid out exactly as ``json.dumps(..., indent=2)`` lays them
    out, as pieces to write one after the other (the findings of a large graph are megabytes of
    text, and each copy of them joined to the rest is megabytes of fresh memory).

    With an indent, json.dumps is the pure-Python encoder (0.15 s for the 19,000 findings of
    10,000 services). A finding is a flat object, so the C encoder writes them all in one call,
    with the separator indent=2 puts between a finding's keys; it writes a newline in a string as
    an escape, so the only ``},\n      {`` in its output are the boundaries between two findings,
    which are then laid out as indent=2 lays them out."""
    document = json.dumps({"findings": [], "summary": summary(findings, files)}, indent=2)
    if not findings:
        return [document]
    before, after = document.split('"findings": []', 1)
    compact = json.dumps([f.to_json() for f in findings], separators=(_KEYS, ": "))
    objects = compact.replace("}" + _KEYS + "{", _CLOSE + ",\n    " + _OPEN)[2:-2]
    return [before, f'"findings": [\n    {_OPEN}', objects, f"{_CLOSE}\n  ]", after]


def render_sarif(findings: Sequence[Finding]) -> str:
    """SARIF 2.1.0, as GitHub code scanning and other SARIF viewers read it."""
    rules = list(RULES.values())
    results = []
    for finding in findings:
        results.append(
            {
                "ruleId": finding.rule.id,
                "ruleIndex": rules.index(finding.rule),
                "level": _SARIF_LEVEL[finding.severity],
                "message": {"text": finding.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": finding.location.file},
                            "region": {
                                "startLine": finding.location.line,
                                "startColumn": finding.location.column,
                            },
                        }
                    }
                ],
                "properties": {
                    key: value
                    for key, value in (
                        ("profile", finding.profile),
                        ("service", finding.service),
                        ("capability", finding.capability),
                    )
                    if value is not None
                },
            }
        )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "graph-supervisor",
                        "version": __version__,
                        "informationUri": "https://github.com/graph-supervisor/graph-supervisor",
                        "rules": [
                            {
                                "id": rule.id,
                                "name": "".join(part.title() for part in rule.id.split("-")),
                                "shortDescription": {"text": rule.summary},
                                "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
                            }
                            for rule in rules
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2)


def _github_escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def github_annotation(command: str, location: Location, title: str, message: str) -> str:
    """One GitHub Actions workflow command (``error``, ``warning``, ``notice``) at ``location``,
    escaped so that any file name, title or message survives (``supervisor diff`` shares this)."""
    return (
        f"::{command} file={_github_escape(location.file, True)},"
        f"line={location.line},col={location.column},title={_github_escape(title, True)}::"
        f"{_github_escape(message)}"
    )


def render_github(findings: Sequence[Finding]) -> str:
    """GitHub Actions workflow commands: one annotation per finding, on the file and line."""
    return "\n".join(
        github_annotation(_GITHUB_COMMAND[f.severity], f.location, f"{f.rule.id} ({_where(f)})", f.message)
        for f in findings
    )


def render(format: str, console: "Console", findings: Sequence[Finding], sources: dict[str, Source]) -> None:
    """Write ``findings`` to ``console`` in ``format`` (one of FORMATS)."""
    if format == "text":
        render_text(console, findings, sources)
    else:
        write_machine(format, console.file, findings, sources)


def write_machine(format: str, stream: TextIO, findings: Sequence[Finding], sources: dict[str, Source]) -> None:
    """Write ``findings`` in a machine format (json, sarif, github) to ``stream`` as they are: rich
    has nothing to style in them, and passing a large SARIF log through its renderer costs more
    than linting it (so a command that writes only these need not load rich)."""
    renderers: dict[str, Callable[[], list[str]]] = {
        "json": lambda: render_json(findings, len(sources)),
        "sarif": lambda: [render_sarif(findings)],
        "github": lambda: [render_github(findings)],
    }
    pieces = renderers[format]()
    if any(pieces):
        stream.writelines([*pieces, "\n"])
