"""What the linter reports: rules with stable ids and severities, and findings that cite them.

The rules themselves are registered in :mod:`supervisor.check.lint` (``RULES``), beside the function
that checks each; the two found while loading a file are declared here, for the loader.
"""

import enum
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import attrs

from supervisor.check.analysis import Variant
from supervisor.graph.source import Location

if TYPE_CHECKING:
    from supervisor.check.plan import Plan


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Scope(enum.Enum):
    """Where a rule looks, and so how often it runs."""

    FILE = "file"  # found while loading the file, before there is a graph
    GRAPH = "graph"  # the graph's shape: checked once, in the base graph
    VARIANT = "variant"  # checked in every variant lint proves
    SERVICE = "service"  # each service on, checked once: in the base graph, or the one variant checked


@attrs.frozen
class Found:
    """What a check found: a message, at its place in the file, about a service and a capability.

    A lint rule's check reports these, and lint makes each a :class:`Finding` of that rule and
    variant; ``diff``'s :class:`~supervisor.check.diff.Change` is one too, of a kind of change."""

    message: str
    location: Location
    service: str | None = None
    capability: str | None = None


@attrs.frozen
class Rule:
    """A lint rule; ``check`` takes a :class:`~supervisor.check.plan.Plan` and yields what it found
    (None for the rules the loader applies)."""

    id: str
    severity: Severity
    summary: str
    scope: Scope
    check: "Callable[[Plan], Iterable[Found]] | None" = attrs.field(default=None, eq=False, repr=False)
    at_run: Severity | None = None
    """The severity when ``supervisor run`` checks the variant it is about to start, if it differs:
    what lint may not be able to tell on a CI machine (a program, a variable) run must."""


SYNTAX = Rule("syntax", Severity.ERROR, "The file is not valid TOML (or not UTF-8).", Scope.FILE)
SCHEMA = Rule("schema", Severity.ERROR, "The file is valid TOML but not a valid service graph.", Scope.FILE)


@attrs.frozen
class Finding:
    """One rule broken at one place, in the variant of the graph it holds in."""

    rule: Rule
    message: str
    location: Location
    variant: Variant = Variant()
    service: str | None = None
    capability: str | None = None
    severity: Severity = attrs.field(
        default=attrs.Factory(lambda self: self.rule.severity, takes_self=True), kw_only=True
    )
    """The rule's severity, or its ``at_run`` one in ``supervisor run``'s check."""

    @property
    def profile(self) -> str | None:
        """The variant's profile: None for the base graph and its variants."""
        return self.variant.profile

    def to_json(self) -> dict:
        return {
            "rule": self.rule.id,
            "severity": self.severity.value,
            "profile": self.profile,
            "service": self.service,
            "capability": self.capability,
            "message": self.message,
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
        }

    @property
    def sort_key(self) -> tuple:
        return (
            self.location.file,
            self.location.line,
            self.location.column,
            self.rule.id,
            self.profile or "",
        )


def count(findings: list[Finding]) -> dict[str, int]:
    """How many findings of each severity, for summaries."""
    totals = {severity.value: 0 for severity in Severity}
    for finding in findings:
        totals[finding.severity.value] += 1
    return totals
