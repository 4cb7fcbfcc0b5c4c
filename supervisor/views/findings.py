"""Findings as text for people, JSON for scripts, SARIF for code scanning, annotations for GitHub."""

import json
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.markup import escape

from supervisor import __version__
from supervisor.check.findings import Finding, Severity, count
from supervisor.check.lint import RULES
from supervisor.graph.source import Location, Source

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
FORMATS = ("text", "json", "sarif", "github")


def summary(findings: Sequence[Finding], files: int) -> dict[str, int]:
    return {"files": files, **{f"{k}s" if k != "info" else k: v for k, v in count(list(findings)).items()}}


def _where(finding: Finding) -> str:
    """The variant a finding holds in, worded as the messages word it."""
    return str(finding.variant)


def render_text(console: Console, findings: Sequence[Finding], sources: dict[str, Source]) -> None:
    """Findings grouped by file, each with its source line and a caret under the column."""
    by_file: dict[str, list[Finding]] = {}
    for finding in findings:
        by_file.setdefault(finding.location.file, []).append(finding)
    for file, group in by_file.items():
        console.print(f"[bold underline]{escape(file)}[/]")
        for finding in group:
            style = _STYLE[finding.severity]
            location = finding.location
            console.print(
                f"  [dim]{location.line}:{location.column}[/] [{style}]{finding.severity.value}[/] "
                f"[bold]{finding.rule.id}[/] [dim]({_where(finding)})[/]"
            )
            console.print(f"    {escape(finding.message)}")
            line = sources[file].line_text(location.line) if file in sources else ""
            if line:
                gutter = f"{location.line:>6} | "
                console.print(f"[dim]{gutter}[/]{escape(line.expandtabs(1))}")
                console.print(" " * (len(gutter) + location.column - 1) + f"[{style}]^[/]")
        console.print()
    totals = summary(findings, len(sources))
    style = "bold red" if totals["errors"] else ("yellow" if totals["warnings"] else "green")
    files = f"{totals['files']} file" + ("s" if totals["files"] != 1 else "")
    console.print(
        f"[{style}]{totals['errors']} error(s), {totals['warnings']} warning(s), {totals['info']} info[/] in {files}"
    )


def render_json(findings: Sequence[Finding], files: int) -> str:
    return json.dumps(
        {"findings": [f.to_json() for f in findings], "summary": summary(findings, files)}, indent=2
    )


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


def render(format: str, console: Console, findings: Sequence[Finding], sources: dict[str, Source]) -> None:
    """Write ``findings`` to ``console`` in ``format`` (one of FORMATS)."""
    renderers: dict[str, Callable[[], str]] = {
        "json": lambda: render_json(findings, len(sources)),
        "sarif": lambda: render_sarif(findings),
        "github": lambda: render_github(findings),
    }
    if format == "text":
        render_text(console, findings, sources)
        return
    text = renderers[format]()
    if text:
        # Machine formats go to the console's stream as they are: rich has nothing to style in
        # them, and passing a large SARIF log through its renderer costs more than linting it.
        console.file.write(text + "\n")
