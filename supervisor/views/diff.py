"""``supervisor diff``'s output: the changes :mod:`supervisor.check.diff` finds, as text for people,
JSON for scripts and annotations for GitHub."""

import json

import attrs
from rich.text import Text

from supervisor.check.diff import Change, breaks
from supervisor.graph.source import Location
from supervisor.views.findings import github_annotation
from supervisor.views.variants import variant_label

FORMATS = ("text", "json", "github")


def render_json(old_file: str, new_file: str, changes: list[Change]) -> str:
    return json.dumps(
        {
            "old": old_file,
            "new": new_file,
            "breaking": breaks(changes),
            "changes": [
                {
                    "kind": c.kind,
                    "profile": c.profile,
                    "message": c.message,
                    "breaking": c.breaking,
                    "service": c.service,
                    "capability": c.capability,
                    **_position(c.location),
                }
                for c in changes
            ],
        },
        indent=2,
    )


def _position(location: Location) -> dict:
    return {"file": location.file, "line": location.line, "column": location.column}


def render_github(changes: list[Change], file: str) -> str:
    """Breaking changes as errors, the rest as notices, all at their place in ``file`` (the NEW
    file as the repository names it)."""
    return "\n".join(
        github_annotation(
            "error" if c.breaking else "notice",
            attrs.evolve(c.location, file=file),
            f"{c.kind} ({variant_label(c.profile)})",
            c.message,
        )
        for c in changes
    )


def render_text(old_file: str, new_file: str, changes: list[Change]) -> list[Text]:
    """Styled lines: changes grouped by variant, breaking ones first and in red. Styled text, not
    markup: file names and messages quote the graphs, and are shown as written."""
    lines = [Text.assemble((old_file, "bold"), " → ", (new_file, "bold"))]
    groups: dict[str | None, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.profile, []).append(change)
    for profile, group in groups.items():
        lines.append(Text(variant_label(profile), "bold underline"))
        for change in sorted(group, key=lambda c: not c.breaking):
            mark = ("✗", "bold red") if change.breaking else ("·", "dim")
            where = (f"{change.location.line}:{change.location.column}", "dim")
            lines.append(Text.assemble("  ", mark, " ", where, " ", change.message))
    count = sum(c.breaking for c in changes)
    if count:
        lines.append(Text(f"{count} breaking change(s)", "bold red"))
    else:
        lines.append(Text.assemble(("no breaking changes", "green"), f" ({len(changes)} change(s))"))
    return lines
