"""What a change to a graph does to every deployment variant: ``supervisor diff``'s comparison,
and ``reload``'s (which services of the running variant are added, removed or changed).

A change breaks something when, in some variant, a consumer loses its last provider, an offer
that could be delivered no longer can, a service that could start no longer can, or lint finds
an error it did not find before. Every change carries a location in the NEW file, so a CI
annotation lands on the line a reviewer has to look at.
"""

import attrs

from supervisor.check.analysis import Startability, selected
from supervisor.check.findings import Found, Severity
from supervisor.check.lint import lint, missing_provider, offer_unavailable
from supervisor.check.plan import Plan
from supervisor.graph.model import Graph, Service
from supervisor.graph.source import Location
from supervisor.wording import join_names

# lint rules the per-variant comparison already reports, more precisely (once per variant)
_COMPARED_RULES = frozenset({missing_provider, offer_unavailable})
# settings a running unit does not depend on: changing them restarts nothing
_INERT = frozenset({"description", "optional"})


@attrs.frozen(kw_only=True)
class Change(Found):
    """One difference the new version makes in one variant (``profile``; None for the base graph):
    what the comparison found, as a lint rule finds (its message, at the place in the new file a
    reviewer has to look at, about a service and a capability), of a ``kind``; ``breaking`` if
    something that worked no longer does."""

    kind: str
    profile: str | None
    breaking: bool = False


@attrs.frozen
class _Side:
    """One version of one variant, as far as the comparison needs it."""

    provided: dict[str, None] = attrs.field(factory=dict)  # capabilities, in file order (a dict: looked up)
    missing: frozenset[tuple[str, str]] = frozenset()
    running: frozenset[str] = frozenset()
    offers: dict[str, bool] = attrs.field(factory=dict)  # capability -> deliverable
    services: dict[str, Service] = attrs.field(factory=dict)  # name -> its settings, the services on


def _side(plan: Plan) -> _Side:
    return _Side(
        services=_services(plan),
        provided=dict.fromkeys(c for s in plan.services for c in s.provides),
        missing=frozenset(plan.missing),
        running=plan.startable,
        offers={c: plan.deliverable(c) for c in plan.offers},
    )


def _services(plan: Plan) -> dict[str, Service]:
    return {s.name: s for s in plan.services}


def diff(old: Graph, new: Graph) -> list[Change]:
    """Every change from ``old`` to ``new``, variant by variant, then new lint errors."""
    old_startability, new_startability = Startability(old), Startability(new)
    changes: list[Change] = []
    for profile in [None, *new.profiles, *(p for p in old.profiles if p not in new.profiles)]:
        if profile is not None and profile not in new.profiles:
            changes.append(
                Change(
                    f"profile {profile} removed",
                    new.locate(()),
                    kind="profile-removed",
                    profile=profile,
                )
            )
            continue
        before = _Side()
        if profile is None or profile in old.profiles:
            before = _side(Plan.compile(old, selected(old, profile), old_startability))
        else:
            changes.append(
                Change(
                    f"profile {profile} added",
                    new.locate(("profiles", profile)),
                    kind="profile-added",
                    profile=profile,
                )
            )
        plan = Plan.compile(new, selected(new, profile), new_startability)
        changes += _compare(plan, before, _side(plan), profile in old.profiles)
    changes += _new_lint_errors(old, new)
    return changes


def _compare(plan: Plan, before: _Side, after: _Side, listed: bool) -> list[Change]:
    """The changes in one variant of the new graph (``plan``), kind by kind; ``listed`` False (a
    new profile) skips what was added to it, which is all of it."""
    changes = []
    if plan.variant.profile is None or listed:
        changes += _services_changed(plan, before, after)
        changes += _capabilities_changed(plan, before, after)
    changes += _providers_changed(plan, before, after)
    changes += _offers_changed(plan, before, after)
    changes += _starts_changed(plan, before, after)
    return changes


def _label(plan: Plan) -> str:
    return str(plan.variant)


def _change(plan: Plan, kind: str, message: str, where: Location, breaking: bool = False, **about) -> Change:
    """A change of ``kind`` in ``plan``'s variant; ``about`` names its service and capability."""
    return Change(message, where, kind=kind, profile=plan.variant.profile, breaking=breaking, **about)


def _requires_at(graph: Graph, service: str, capability: str) -> Location:
    return graph.locate_item(("services", service, "requires"), graph.services[service].requires, capability)


def service_changes(old: Plan, new: Plan) -> list[Change]:
    """The services of ``new`` added, removed or changed since ``old`` (another version of the same
    variant): what ``reload`` applies."""
    # As much of each side as the services' comparison reads: a reload needs no proofs.
    return _services_changed(new, _Side(services=_services(old)), _Side(services=_services(new)))


def _services_changed(plan: Plan, before: _Side, after: _Side) -> list[Change]:
    """Services that run here now and did not, and the other way round, and those whose settings
    changed (a reload restarts them)."""
    new, label = plan.graph, _label(plan)
    changes = []
    for name in after.services:
        where = new.locate(("services", name))
        if name not in before.services:
            changes.append(_change(plan, "service-added", f"{name} runs in {label}", where, service=name))
        elif settings := _settings_changed(before.services[name], after.services[name]):
            message = f"{name} changed in {label}: {join_names(settings)}"
            changes.append(_change(plan, "service-changed", message, where, service=name))
    for name in before.services:
        if name not in after.services:
            how = f"is switched off in {label}" if name in new.services else "is removed"
            changes.append(_change(plan, "service-removed", f"{name} {how}", new.locate(()), service=name))
    return changes


def _settings_changed(old: Service, new: Service) -> list[str]:
    """The settings that differ, but for those that change nothing a running unit does."""
    return [
        f.name
        for f in attrs.fields(Service)
        if f.name not in _INERT and getattr(old, f.name) != getattr(new, f.name)
    ]


def _capabilities_changed(plan: Plan, before: _Side, after: _Side) -> list[Change]:
    """Capabilities provided here now and not before, and the other way round."""
    new, label = plan.graph, _label(plan)
    changes = []
    for capability in after.provided:
        if capability not in before.provided:
            provider = new.providers[capability][0]
            provides = new.services[provider].provides
            where = new.locate_item(("services", provider, "provides"), provides, capability)
            message = f"{capability} is provided in {label}"
            changes.append(
                _change(plan, "capability-added", message, where, service=provider, capability=capability)
            )
    for capability in before.provided:
        if capability not in after.provided:
            message = f"nothing provides {capability} in {label} any more"
            changes.append(
                _change(plan, "capability-removed", message, new.locate(()), capability=capability)
            )
    return changes


def _providers_changed(plan: Plan, before: _Side, after: _Side) -> list[Change]:
    """Consumers that lose their last provider of a capability (breaking), or get one back."""
    new, label = plan.graph, _label(plan)
    changes = []
    for consumer, capability in sorted(after.missing - before.missing):
        providers = new.providers.get(capability, ())
        why = "nothing provides it"
        if providers:
            noun, verb = ("provider", "is") if len(providers) == 1 else ("providers", "are")
            why = f"its {noun} {join_names(providers)} {verb} switched off there"
        message = f"in {label}, {consumer} loses its last provider of {capability}: {why}"
        where = _requires_at(new, consumer, capability)
        changes.append(
            _change(plan, "provider-lost", message, where, True, service=consumer, capability=capability)
        )
    for consumer, capability in sorted(before.missing - after.missing):
        if consumer in new.services and capability in new.services[consumer].requires:
            message = f"in {label}, {consumer} has a provider of {capability} again"
            where = _requires_at(new, consumer, capability)
            changes.append(
                _change(plan, "provider-restored", message, where, service=consumer, capability=capability)
            )
    return changes


def _offers_changed(plan: Plan, before: _Side, after: _Side) -> list[Change]:
    """Offers the variant can no longer deliver (breaking), or can again."""
    label = _label(plan)
    changes = []
    for capability, can in after.offers.items():
        could = before.offers.get(capability)
        where = plan.graph.locate_item(("profiles", plan.variant.profile, "offers"), plan.offers, capability)
        if not can and could is not False:
            verb = "can no longer deliver" if could else "now offers but cannot deliver"
            message = f"{label} {verb} {capability}: {plan.why_not(capability)}"
            changes.append(_change(plan, "offer-lost", message, where, True, capability=capability))
        elif can and could is False:
            message = f"{label} can deliver {capability} again"
            changes.append(_change(plan, "offer-restored", message, where, capability=capability))
    return changes


def _starts_changed(plan: Plan, before: _Side, after: _Side) -> list[Change]:
    """Services that run here and could start before, but no longer can (breaking)."""
    return [
        _change(
            plan,
            "stops-starting",
            f"in {_label(plan)}, {name} can no longer start",
            plan.graph.locate(("services", name)),
            True,
            service=name,
        )
        for name in after.services
        if name in before.running and name not in after.running
    ]


def _new_lint_errors(old: Graph, new: Graph) -> list[Change]:
    """Lint errors of ``new`` that ``old`` did not have, beyond those the variants already show."""

    def key(finding) -> tuple:
        return (finding.rule, finding.profile, finding.service, finding.capability)

    errors = [f for f in lint(new) if f.severity is Severity.ERROR and f.rule not in _COMPARED_RULES]
    known = {key(f) for f in lint(old)}
    return [
        Change(
            f"{f.rule.id}: {f.message}",
            f.location,
            f.service,
            f.capability,
            kind="lint-error",
            profile=f.profile,
            breaking=True,
        )
        for f in errors
        if key(f) not in known
    ]


def breaks(changes: list[Change]) -> bool:
    return any(c.breaking for c in changes)
