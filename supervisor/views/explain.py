"""``supervisor explain``: everything the graph says about one capability or one service.

For a service the centre of it is the impact of switching it off: the capabilities that go with
it, the services that then cannot start, what those provided, and so on, down to the profiles
whose offers fail. That chain is what nobody could see before the 2026-02-26 incident, where
switching the web terminal off took the proxy's SSH identity keys with it.
"""

import attrs
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from supervisor.check.analysis import Startability, deliverable
from supervisor.check.plan import Plan
from supervisor.graph.model import Graph
from supervisor.views.graph import DeclaredService
from supervisor.views.variants import profile_plans, variant_label
from supervisor.wording import join_names


@attrs.frozen
class CapabilityInVariant:
    """One capability in one variant; ``reason`` says why it cannot be had, when it cannot."""

    profile: str | None
    providers: tuple[str, ...]
    switched_off: tuple[str, ...]
    consumers: tuple[str, ...]
    offered: bool
    deliverable: bool
    reason: str


@attrs.frozen
class CapabilityReport:
    name: str
    providers: tuple[str, ...]
    consumers: tuple[str, ...]
    offered_by: tuple[str, ...]
    variants: tuple[CapabilityInVariant, ...]


@attrs.frozen
class Need:
    """A requirement of the explained service; ``switched_off`` are providers off in the profile."""

    capability: str
    providers: tuple[str, ...]
    switched_off: tuple[str, ...]


@attrs.frozen
class Loss:
    """A capability that goes away, and the consumers that cannot start without it.

    Each lost service is expanded once, where the chain first reaches it; ``also`` names the
    consumers already expanded elsewhere, so the chain stays a tree.
    """

    capability: str
    offered_by: tuple[str, ...]
    consumers: tuple["Impact", ...]
    also: tuple[str, ...]


@attrs.frozen
class Impact:
    service: str
    losses: tuple[Loss, ...]


@attrs.frozen
class SwitchOff:
    """Switching the service off in one variant (or, where the profile already does, what that costs)."""

    profile: str | None
    already_off: bool
    starts: bool
    cannot_start: tuple[str, ...]
    failing_offers: tuple[str, ...]
    chain: Impact


@attrs.frozen(kw_only=True)
class ServiceReport(DeclaredService):
    needs: tuple[Need, ...]
    switch_off: tuple[SwitchOff, ...]


@attrs.frozen
class Explanation:
    """``name`` as a capability, as a service, or both (a service often provides its own name)."""

    name: str
    capability: CapabilityReport | None
    service: ServiceReport | None


def explain(graph: Graph, name: str, profile: str | None = None) -> Explanation:
    """Explain ``name`` in every variant, or only in ``profile``; both parts None if it is unknown."""
    startability = Startability(graph)
    plans = profile_plans(graph, profile, startability)
    capability = explain_capability(graph, name, plans) if name in graph.capabilities else None
    service = explain_service(graph, name, plans, startability) if name in graph.services else None
    return Explanation(name, capability, service)


def explain_capability(graph: Graph, capability: str, plans: list[Plan]) -> CapabilityReport:
    variants = []
    for plan in plans:
        can = plan.deliverable(capability)
        variants.append(
            CapabilityInVariant(
                profile=plan.variant.profile,
                providers=plan.providers_on(capability),
                switched_off=tuple(p for p in graph.providers.get(capability, ()) if p in plan.disabled),
                consumers=tuple(c for c in graph.consumers.get(capability, ()) if c not in plan.disabled),
                offered=capability in plan.offers,
                deliverable=can,
                reason="" if can else plan.why_not(capability),
            )
        )
    return CapabilityReport(
        name=capability,
        providers=graph.providers.get(capability, ()),
        consumers=graph.consumers.get(capability, ()),
        offered_by=graph.offered_by.get(capability, ()),
        variants=tuple(variants),
    )


def explain_service(graph: Graph, name: str, plans: list[Plan], startability: Startability) -> ServiceReport:
    """``name`` and what switching it off costs in each of ``plans`` (its needs as in the first)."""
    service = graph.services[name]
    disabled = plans[0].disabled
    needs = tuple(
        Need(c, graph.providers.get(c, ()), tuple(p for p in graph.providers.get(c, ()) if p in disabled))
        for c in service.requires
    )
    return ServiceReport.of(
        service,
        needs=needs,
        switch_off=tuple(switch_off(plan, name, startability) for plan in plans),
    )


def switch_off(plan: Plan, name: str, startability: Startability) -> SwitchOff:
    """What ``plan``'s variant loses with ``name`` off compared with ``name`` on, whichever it
    does now (both are what-ifs beside the plan, so they ask ``startability`` directly)."""
    graph = plan.graph
    on, off = plan.disabled - {name}, plan.disabled | {name}
    running_on, running_off = startability.of(on), startability.of(off)
    lost = running_on - running_off
    return SwitchOff(
        profile=plan.variant.profile,
        already_off=name in plan.disabled,
        starts=name in running_on,
        cannot_start=tuple(s for s in graph.services if s in lost and s != name),
        failing_offers=tuple(
            c
            for c in plan.offers
            if deliverable(graph, c, on, running_on) and not deliverable(graph, c, off, running_off)
        ),
        chain=_chain(graph, name, running_on, lost, {name}, set()),
    )


def _chain(
    graph: Graph,
    name: str,
    running: frozenset[str],
    lost: frozenset[str],
    services: set[str],
    capabilities: set[str],
) -> Impact:
    """The impact tree below ``name``: each capability it takes away and who falls with it.

    ``services`` and ``capabilities`` (mutated) hold what the tree already shows; they are two
    sets because a service and a capability may share a name.
    """
    losses = []
    for capability in graph.services[name].provides:
        if capability in capabilities or any(
            p in running and p not in lost for p in graph.providers[capability]
        ):
            continue
        capabilities.add(capability)
        fallen = [c for c in graph.consumers.get(capability, ()) if c in lost and c != name]
        fresh = [c for c in fallen if c not in services]
        services.update(fresh)
        losses.append(
            Loss(
                capability=capability,
                offered_by=graph.offered_by.get(capability, ()),
                consumers=tuple(_chain(graph, c, running, lost, services, capabilities) for c in fresh),
                also=tuple(c for c in fallen if c not in fresh),
            )
        )
    return Impact(name, tuple(losses))


def path_to(impact: Impact, capability: str) -> list[str] | None:
    """The steps from the switched-off service to losing ``capability``: ``[service, capability,
    consumer, capability, …]``, or None if the chain does not lose it."""
    for loss in impact.losses:
        if loss.capability == capability:
            return [impact.service, capability]
        for consumer in loss.consumers:
            rest = path_to(consumer, capability)
            if rest is not None:
                return [impact.service, loss.capability, *rest]
    return None


def render(explanation: Explanation) -> Group:
    """The explanation as rich renderables: the capability part, then the service part."""
    parts = []
    if explanation.capability is not None:
        parts.append(_capability_tree(explanation.capability))
    if explanation.service is not None:
        parts += ["", *_service_parts(explanation.service)] if parts else _service_parts(explanation.service)
    return Group(*parts)


def _names(names: tuple[str, ...], empty: str = "none") -> str:
    return escape(join_names(names)) if names else f"[dim]{empty}[/]"


def _profiles(names: tuple[str, ...]) -> str:
    return escape(("profile " if len(names) == 1 else "profiles ") + join_names(names))


def _capability_tree(report: CapabilityReport) -> Tree:
    tree = Tree(f"[bold]capability {escape(report.name)}[/]")
    tree.add(f"provided by {_names(report.providers, 'nothing')}")
    tree.add(f"required by {_names(report.consumers)}")
    tree.add(f"offered by {_profiles(report.offered_by) if report.offered_by else _names(())}")
    for variant in report.variants:
        status = "[green]deliverable[/]" if variant.deliverable else "[bold red]NOT deliverable[/]"
        offered = ", offered here" if variant.offered else ""
        branch = tree.add(f"in {variant_label(variant.profile)}: {status}{offered}")
        branch.add(f"providers on: {_names(variant.providers)}")
        if variant.switched_off:
            branch.add(f"providers switched off: [red]{_names(variant.switched_off)}[/]")
        branch.add(f"needed by: {_names(variant.consumers)}")
        if not variant.deliverable:
            branch.add(f"[red]why: {escape(variant.reason)}[/]")
    return tree


def _service_parts(report: ServiceReport) -> list:
    head = Tree(f"[bold]service {escape(report.name)}[/] [dim]({', '.join(report.flags)})[/]")
    if report.description:
        head.add(escape(report.description))
    head.add(f"provides {_names(report.provides, 'nothing')}")
    needs = head.add("requires" if report.needs else "[dim]requires nothing[/]")
    for need in report.needs:
        off = f" [red](switched off: {escape(join_names(need.switched_off))})[/]" if need.switched_off else ""
        needs.add(f"{escape(need.capability)} from {_names(need.providers, '[red]nothing[/]')}{off}")
    first = report.switch_off[0]
    chain = Tree(
        f"[bold]impact of switching {escape(report.name)} off[/] [dim](in {variant_label(first.profile)})[/]"
    )
    if not first.starts:
        chain.add(f"[dim]{escape(report.name)} cannot start there anyway: nothing more is lost[/]")
    _add_chain(chain, first.chain)
    return [head, "", chain, "", _switch_off_table(report), *_failing_offer_paths(report)]


def _add_chain(tree: Tree, impact: Impact) -> None:
    for loss in impact.losses:
        offered = f" [dim](offered by {_profiles(loss.offered_by)})[/]" if loss.offered_by else ""
        branch = tree.add(f"[red]loses {escape(loss.capability)}[/]{offered}")
        for consumer in loss.consumers:
            _add_chain(branch.add(f"[bold red]{escape(consumer.service)} cannot start[/]"), consumer)
        if loss.also:
            branch.add(f"[red]{escape(join_names(loss.also))} (see above) need it too[/]")
        if not loss.consumers and not loss.also and not loss.offered_by:
            branch.add("[dim]nothing needs it[/]")


def _switch_off_table(report: ServiceReport) -> Table:
    table = Table(title=f"switching {escape(report.name)} off, per variant", title_justify="left")
    table.add_column("variant")
    table.add_column(report.name)
    table.add_column("cannot start")
    table.add_column("offers that fail")
    for item in report.switch_off:
        state = "[yellow]off already[/]" if item.already_off else "on"
        failing = f"[bold red]{_names(item.failing_offers)}[/]" if item.failing_offers else _names(())
        table.add_row(variant_label(item.profile), state, _names(item.cannot_start), failing)
    return table


def _failing_offer_paths(report: ServiceReport) -> list[str]:
    """One sentence per failing offer, walking the chain from the service to the lost capability."""
    lines = []
    for item in report.switch_off:
        for capability in item.failing_offers:
            steps = path_to(item.chain, capability)
            walk = [f"{escape(report.name)} off"]
            for index, step in enumerate(steps[1:]):
                walk.append(f"loses {escape(step)}" if index % 2 == 0 else f"{escape(step)} cannot start")
            already = f" ({escape(report.name)} is off there already)" if item.already_off else ""
            lines.append(
                f"[bold]{variant_label(item.profile)}[/]{already} [bold red]cannot deliver "
                f"{escape(capability)}[/]: {' → '.join(walk)}"
            )
    return lines
