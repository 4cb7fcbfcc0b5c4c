"""What the linter reports: rules with stable ids and severities, and findings that cite them."""

import enum

import attrs

from supervisor.source import Location


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@attrs.frozen
class Rule:
    id: str
    severity: Severity
    summary: str


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("syntax", Severity.ERROR, "The file is not valid TOML (or not UTF-8)."),
        Rule("schema", Severity.ERROR, "The file is valid TOML but not a valid service graph."),
        Rule("unknown-service", Severity.ERROR, "A profile names a service that the graph does not have."),
        Rule("missing-provider", Severity.ERROR, "A required capability has no enabled provider."),
        Rule(
            "optional-provider",
            Severity.ERROR,
            "Switching off one optional service leaves a non-optional service without a provider.",
        ),
        Rule("offer-unavailable", Severity.ERROR, "A profile offers a capability it cannot deliver."),
        Rule("cycle", Severity.ERROR, "Services require each other in a cycle, so none of them can start."),
        Rule(
            "coupled-provider",
            Severity.WARNING,
            "One service provides capabilities with different consumers: a hidden side responsibility.",
        ),
        Rule(
            "unverified-capability",
            Severity.WARNING,
            "A required capability whose provider has no ready or check probe to prove it.",
        ),
        Rule(
            "not-optional", Severity.WARNING, "A profile switches off a service that is not marked optional."
        ),
        Rule("multiple-providers", Severity.INFO, "A capability has more than one provider."),
        Rule(
            "unused-capability", Severity.INFO, "A capability is provided but nothing requires or offers it."
        ),
    )
}


@attrs.frozen
class Finding:
    """One rule broken at one place, in one variant of the graph.

    ``profile`` is None for the base graph (every service enabled).
    """

    rule: str
    message: str
    location: Location
    profile: str | None = None
    service: str | None = None
    capability: str | None = None

    @property
    def severity(self) -> Severity:
        return RULES[self.rule].severity

    @property
    def sort_key(self) -> tuple:
        return (self.location.file, self.location.line, self.location.column, self.rule, self.profile or "")


def count(findings: list[Finding]) -> dict[str, int]:
    """How many findings of each severity, for summaries."""
    totals = {severity.value: 0 for severity in Severity}
    for finding in findings:
        totals[finding.severity.value] += 1
    return totals
