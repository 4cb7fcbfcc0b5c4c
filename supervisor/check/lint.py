"""The lint rules: proofs, per deployment variant, that every requirement has a provider.

Every rule is registered here, in :data:`RULES`, by the ``@rule`` line above the function that
checks it (its id, severity and scope; the docstring's first line is its summary). A new rule is
one such function (taking a :class:`~supervisor.check.plan.Plan`, yielding what it found) and one test;
lint, the reports and the SARIF rule table pick it up from the registry.

``lint(graph)`` is pure and returns findings sorted by place; the command line only formats them.
Rules of scope VARIANT run once per variant lint proves and their findings carry that variant;
rules of scope GRAPH look at the graph's shape and run once, in the base graph; rules of scope
SERVICE look at each service that is on, once (in the base graph, where every service is on, or
in the one variant ``--profile`` or ``run`` selects). A finding that
holds in several variants (the same rule, place, service and capability) is reported once, in the
first: the base graph, then the profiles, then each optional service switched off on its own.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence

from supervisor.check.analysis import Startability, Variant, cycles, selected, variants
from supervisor.check.context import Context
from supervisor.check.findings import SCHEMA, SYNTAX, Finding, Found, Rule, Scope, Severity
from supervisor.check.plan import Plan
from supervisor.graph.addresses import AddressError, Listen, parse_listen
from supervisor.graph.model import Graph, Profile, Service
from supervisor.graph.schema import dotted
from supervisor.wording import did_you_mean, join_names

RULES: dict[str, Rule] = {SYNTAX.id: SYNTAX, SCHEMA.id: SCHEMA}
"""Every rule by id, in the order they are documented and listed in SARIF."""

Check = Callable[[Plan], Iterable[Found]]


def rule(
    id: str, severity: Severity, scope: Scope, at_run: Severity | None = None
) -> Callable[[Check], Rule]:
    """Register the decorated check as rule ``id``, summed up by the first line of its docstring;
    the name it is defined under is the Rule."""

    def register(check: Check) -> Rule:
        RULES[id] = Rule(id, severity, check.__doc__.strip().splitlines()[0], scope, check, at_run)
        return RULES[id]

    return register


def lint(graph: Graph, profile: str | None = None, context: Context | None = None) -> list[Finding]:
    """Every finding for ``graph``: in all its variants, or only in ``profile`` when given."""
    startability = Startability(graph)
    checked = variants(graph) if profile is None else [selected(graph, profile)]
    return lint_plans([Plan.compile(graph, variant, startability, context) for variant in checked])


def lint_plans(plans: Sequence[Plan], at_run: bool = False) -> list[Finding]:
    """The findings for exactly these plans, all of one graph; ``at_run`` when ``supervisor run``
    checks the one it runs (rules with an ``at_run`` severity take it)."""
    findings: list[Finding] = []
    for checked in RULES.values():
        severity = checked.at_run if at_run and checked.at_run is not None else checked.severity
        if checked.scope is Scope.GRAPH:
            findings += _apply(checked, plans[0].base, severity)
        elif checked.scope is Scope.SERVICE:
            findings += _apply(checked, plans[0], severity)
        elif checked.scope is Scope.VARIANT:
            reported: set[tuple] = set()
            for plan in plans:
                fresh = [f for f in _apply(checked, plan, severity) if _same(f) not in reported]
                reported.update(_same(f) for f in fresh)
                findings += fresh
    return sorted(findings, key=lambda f: f.sort_key)


def _apply(checked: Rule, plan: Plan, severity: Severity) -> list[Finding]:
    return [
        Finding(
            checked,
            found.message,
            found.location,
            plan.variant,
            found.service,
            found.capability,
            severity=severity,
        )
        for found in checked.check(plan)
    ]


def _same(finding: Finding) -> tuple:
    """What makes a finding in one variant the same finding in another."""
    return (finding.location, finding.service, finding.capability)


def _requires_at(graph: Graph, service: str, capability: str):
    requires = graph.services[service].requires
    return graph.locate_item(("services", service, "requires"), requires, capability)


def _provides_at(graph: Graph, service: str, capability: str):
    provides = graph.services[service].provides
    return graph.locate_item(("services", service, "provides"), provides, capability)


def _profile(plan: Plan) -> Profile | None:
    return plan.graph.profiles[plan.variant.profile] if plan.variant.profile is not None else None


def _disabled(
    plan: Plan, wrong: Callable[[Service | None], bool], message: Callable[[str, str], str]
) -> Iterator[Found]:
    """What is ``wrong`` with the services the variant's profile disables (None: no such service),
    each at its name in the profile's disable list, said by ``message(profile, name)``."""
    profile = _profile(plan)
    for name in profile.disable if profile is not None else ():
        if wrong(plan.graph.services.get(name)):
            where = plan.graph.locate_item(("profiles", profile.name, "disable"), profile.disable, name)
            yield Found(message(profile.name, name), where, service=name)


@rule("unknown-service", Severity.ERROR, Scope.VARIANT)
def unknown_service(plan: Plan) -> Iterator[Found]:
    """A profile names a service that the graph does not have."""
    return _disabled(
        plan,
        lambda service: service is None,
        lambda profile, name: (
            f"profile {profile} disables {name!r}, which is not a service of this graph"
            f"{did_you_mean(name, plan.graph.services)}: correct the name or remove it from disable"
        ),
    )


@rule("missing-provider", Severity.ERROR, Scope.VARIANT)
def missing_provider(plan: Plan) -> Iterator[Found]:
    """A required capability has no enabled provider."""
    if plan.variant.switched_off is not None:
        return  # optional-provider speaks for lint's variants of one optional service off
    for consumer, capability in plan.missing:
        yield Found(
            _missing_message(plan.graph, plan.variant, consumer, capability),
            _requires_at(plan.graph, consumer, capability),
            service=consumer,
            capability=capability,
        )


def _missing_message(graph: Graph, variant: Variant, consumer: str, capability: str) -> str:
    providers = graph.providers.get(capability, ())
    if not providers:
        return (
            f"{consumer} requires {capability}, but no service provides it"
            f"{did_you_mean(capability, graph.providers)}: add a service that provides {capability}, "
            f"or remove it from {consumer}'s requires"
        )
    who = join_names(providers)
    side = [p for p in providers if len(graph.services[p].provides) > 1]
    why = f": {capability} is a side responsibility of {join_names(side)}" if side else ""
    if variant.also_off:
        remedy = f"or keep {who} on"
    else:
        remedy = f"that stays on in {variant.profile}, or stop disabling {who} there"
    return (
        f"in {variant}, {consumer} requires {capability}, but its provider {who} is switched off "
        f"{'here' if variant.also_off else 'by this profile'}{why}. Give {capability} a service of its own "
        f"{remedy}"
    )


@rule("optional-provider", Severity.ERROR, Scope.VARIANT)
def optional_provider(plan: Plan) -> Iterator[Found]:
    """Switching off one optional service leaves a non-optional service without a provider."""
    graph, optional = plan.graph, plan.variant.switched_off
    if optional is None:
        return
    for consumer, capability in plan.missing:
        if graph.services[consumer].optional or capability not in graph.services[optional].provides:
            continue
        yield Found(
            f"switching off optional service {optional} alone leaves {capability} without a provider, "
            f"but {consumer} (not optional) requires it: give {capability} a provider of its own, "
            f"or remove optional = true from {optional}",
            _provides_at(graph, optional, capability),
            service=optional,
            capability=capability,
        )


@rule("offer-unavailable", Severity.ERROR, Scope.VARIANT)
def offer_unavailable(plan: Plan) -> Iterator[Found]:
    """A profile offers a capability it cannot deliver."""
    profile = _profile(plan)
    for capability in plan.offers:
        if plan.deliverable(capability):
            continue
        yield Found(
            f"profile {profile.name} offers {capability} but cannot deliver it: {plan.why_not(capability)}. "
            f"Switch the missing provider on in {profile.name}, give it another provider, or stop offering {capability}",
            plan.graph.locate_item(("profiles", profile.name, "offers"), profile.offers, capability),
            capability=capability,
        )


@rule("cycle", Severity.ERROR, Scope.GRAPH)
def cycle(plan: Plan) -> Iterator[Found]:
    """Services require each other in a cycle, so none of them can start."""
    graph = plan.graph
    for path in cycles(graph, plan.startable):
        needs = [
            next(c for c in graph.services[consumer].requires if c in graph.services[provider].provides)
            for consumer, provider in zip(path, path[1:], strict=False)
        ]
        links = "; ".join(
            f"{consumer} requires {need} from {provider}"
            for consumer, provider, need in zip(path, path[1:], needs, strict=False)
        )
        yield Found(
            f"requirement cycle {' -> '.join(path)} ({links}): none of these can ever start. "
            f"Break the cycle: move one of these responsibilities into a service of its own",
            _requires_at(graph, path[0], needs[0]),
            service=path[0],
            capability=needs[0],
        )


@rule("listen-conflict", Severity.ERROR, Scope.VARIANT)
def listen_conflict(plan: Plan) -> Iterator[Found]:
    """Two listen sockets of services that run together are on the same address."""
    opened: list[tuple[Listen, str, str]] = []
    for service in plan.graph.listening:
        if service.name in plan.disabled:
            continue
        for index, spec in enumerate(service.listen):
            expanded = plan.context.expand(spec)
            try:
                where = parse_listen(expanded) if expanded is not None else None
            except AddressError:
                where = None  # a bad port in a variable's value: the runtime says so when it listens
            if where is None:
                continue
            for other_where, other, other_spec in opened:
                if where.overlaps(other_where):
                    also = "also " if other == service.name else f"{other} "
                    yield Found(
                        f"{service.name} listens on {expanded}, where {also}listens on {other_spec}: "
                        f"only one socket can have that address. Give one of them another port or path",
                        plan.graph.locate(("services", service.name, "listen", index)),
                        service=service.name,
                    )
                    break
            opened.append((where, service.name, expanded))


def _audience(graph: Graph, capability: str) -> frozenset[str]:
    """Who depends on ``capability``: the services that require it and the profiles that offer it."""
    return frozenset(graph.consumers.get(capability, ())) | {
        f"profile {p}" for p in graph.offered_by.get(capability, ())
    }


@rule("coupled-provider", Severity.WARNING, Scope.GRAPH)
def coupled_provider(plan: Plan) -> Iterator[Found]:
    """One service provides capabilities with different consumers: a hidden side responsibility."""
    graph = plan.graph
    for service in graph.services.values():
        if len(service.provides) < 2:
            continue
        audiences = {c: _audience(graph, c) for c in service.provides}
        if len(set(audiences.values())) < 2:
            continue
        main = service.name if service.name in service.provides else service.provides[0]
        sides = [c for c in service.provides if c != main and audiences[c] != audiences[main]]
        described = "; ".join(
            f"{c} is needed by {join_names(sorted(audiences[c])) or 'nothing'}" for c in [main, *sides]
        )
        yield Found(
            f"{service.name} provides {join_names([main, *sides])}, whose consumers differ ({described}): "
            f"switching {service.name} off where {main} is not wanted silently takes {join_names(sides)} away too. "
            f"Give {join_names(sides)} a service of its own",
            graph.locate(("services", service.name, "provides")),
            service=service.name,
            capability=sides[0],
        )


@rule("unverified-capability", Severity.WARNING, Scope.GRAPH)
def unverified_capability(plan: Plan) -> Iterator[Found]:
    """A required capability whose provider has no ready or check probe to prove it."""
    graph = plan.graph
    for capability, consumers in graph.consumers.items():
        for provider in graph.providers.get(capability, ()):
            service = graph.services[provider]
            if service.verifiable:
                continue
            yield Found(
                f"{provider} provides {capability}, which {join_names(consumers)} require, but nothing proves it: "
                f"{_how_to_verify(service)}, so the supervisor knows when {capability} holds and notices if it is lost",
                _provides_at(graph, provider, capability),
                service=provider,
                capability=capability,
            )


def _how_to_verify(service: Service) -> str:
    if service.kind == "oneshot":
        return f"add a check probe to {service.name} (a oneshot's exit proves it once, not later)"
    return f"add a ready probe (and ideally a check) to {service.name}"


@rule("not-optional", Severity.WARNING, Scope.VARIANT)
def not_optional(plan: Plan) -> Iterator[Found]:
    """A profile switches off a service that is not marked optional."""
    return _disabled(
        plan,
        lambda service: service is not None and not service.optional,
        lambda profile, name: (
            f"profile {profile} switches off {name}, which is not marked optional: "
            f"add optional = true to {name} if deployments may run without it, or keep it on here"
        ),
    )


@rule("command-not-found", Severity.WARNING, Scope.SERVICE, at_run=Severity.ERROR)
def command_not_found(plan: Plan) -> Iterator[Found]:
    """A command cannot run on this machine: its program, python -m module, working_dir, env_file, user or group is not found (a warning under lint, which may run where they are not; an error under run, which refuses to start)."""
    on = {service.name for service in plan.services}
    worded: dict[tuple[str | int, ...], tuple[str, str, str]] = {}  # a few settings, thousands of findings
    for (name, path), why in plan.context.unrunnable.items():
        if name in on:
            if path not in worded:
                remedy = "install it" if path[0] in ("command", "ready", "check") else "create it"
                worded[path] = (dotted(path), remedy, dotted(tuple(part for part in path if isinstance(part, str))))
            where, remedy, setting = worded[path]
            yield Found(
                f"{name}'s {where} {why}: {remedy} where the graph runs, or correct {setting}",
                plan.graph.locate_setting(name, path),
                service=name,
            )


@rule("multiple-providers", Severity.INFO, Scope.GRAPH)
def multiple_providers(plan: Plan) -> Iterator[Found]:
    """A capability has more than one provider."""
    for capability, providers in plan.graph.providers.items():
        if len(providers) > 1:
            yield Found(
                f"{capability} has {len(providers)} providers ({join_names(providers)}); any one of them satisfies its consumers",
                _provides_at(plan.graph, providers[1], capability),
                service=providers[1],
                capability=capability,
            )


@rule("unused-capability", Severity.INFO, Scope.GRAPH)
def unused_capability(plan: Plan) -> Iterator[Found]:
    """A capability is provided but nothing requires or offers it."""
    graph = plan.graph
    for capability, providers in graph.providers.items():
        if capability not in graph.consumers and capability not in graph.offered_by:
            yield Found(
                f"{providers[0]} provides {capability}, but no service requires it and no profile offers it: "
                f"offer it from a profile, or remove it",
                _provides_at(graph, providers[0], capability),
                service=providers[0],
                capability=capability,
            )


@rule("unset-variable", Severity.INFO, Scope.SERVICE, at_run=Severity.ERROR)
def unset_variable(plan: Plan) -> Iterator[Found]:
    """A ${VAR} has no default and no value (info under lint, an error under run, which refuses to start)."""
    for service in plan.services:
        for path, text in service.expanded_settings():
            if "${" not in text:
                continue  # most texts: no call at all (a large graph has tens of thousands)
            for name in dict.fromkeys(plan.context.unset(text)):
                yield Found(
                    f"{service.name}'s {dotted(path)} uses ${{{name}}}, which has no default and no value: "
                    f"set {name} where the graph runs, or write ${{{name}:-default}} "
                    f"(lint takes the values a deployment uses with --set {name}=VALUE or --env-file FILE)",
                    plan.graph.locate_setting(service.name, path),
                    service=service.name,
                )
