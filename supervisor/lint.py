"""The lint rules: proofs, per deployment variant, that every requirement has a provider.

``lint(graph)`` is pure and returns findings sorted by place; the command line only formats them.
Rules that depend on the variant (missing providers, offers) run once per variant; rules about
the graph's shape (cycles, coupling, verification) run once.
"""

from collections.abc import Iterator, Sequence

from supervisor.analysis import Startability, Variant, cycles, missing_providers, selected, variants
from supervisor.findings import Finding
from supervisor.model import Graph, Service
from supervisor.plan import Plan
from supervisor.wording import did_you_mean, join_names


def lint(graph: Graph, profile: str | None = None) -> list[Finding]:
    """Every finding for ``graph``: in all its variants, or only in ``profile`` when given."""
    startability = Startability(graph)
    checked = variants(graph) if profile is None else [selected(graph, profile)]
    return lint_plans([Plan.compile(graph, variant, startability) for variant in checked])


def lint_plans(plans: Sequence[Plan]) -> list[Finding]:
    """The findings for exactly these plans, all of one graph (``supervisor run`` checks the one
    it runs)."""
    graph = plans[0].graph
    profiles = {p.variant.profile for p in plans if p.variant.profile is not None}
    findings: list[Finding] = []
    findings += _unknown_services(graph, profiles)
    findings += _not_optional(graph, profiles)
    reported: set[tuple[str, str]] = set()
    for plan in plans:
        variant = plan.variant
        if variant.switched_off is not None:
            findings += _optional_provider(graph, variant)
            continue
        for consumer, capability in plan.missing:
            if (consumer, capability) not in reported:
                reported.add((consumer, capability))
                findings.append(_missing_provider(graph, variant, consumer, capability))
        if variant.profile is not None:
            findings += _offer_unavailable(plan)
    findings += _cycles(graph, plans[0].base_startable)
    findings += _coupled_providers(graph)
    findings += _unverified_capabilities(graph)
    findings += _provider_counts(graph)
    return sorted(findings, key=lambda f: f.sort_key)


def _requires_at(graph: Graph, service: str, capability: str):
    requires = graph.services[service].requires
    return graph.locate_item(("services", service, "requires"), requires, capability)


def _provides_at(graph: Graph, service: str, capability: str):
    provides = graph.services[service].provides
    return graph.locate_item(("services", service, "provides"), provides, capability)


def _unknown_services(graph: Graph, profiles: set[str]) -> Iterator[Finding]:
    for profile in graph.profiles.values():
        if profile.name not in profiles:
            continue
        for name in profile.disable:
            if name not in graph.services:
                yield Finding(
                    "unknown-service",
                    f"profile {profile.name} disables {name!r}, which is not a service of this graph"
                    f"{did_you_mean(name, graph.services)}: correct the name or remove it from disable",
                    graph.locate_item(("profiles", profile.name, "disable"), profile.disable, name),
                    profile=profile.name,
                    service=name,
                )


def _not_optional(graph: Graph, profiles: set[str]) -> Iterator[Finding]:
    for profile in graph.profiles.values():
        if profile.name not in profiles:
            continue
        for name in profile.disable:
            service = graph.services.get(name)
            if service is not None and not service.optional:
                yield Finding(
                    "not-optional",
                    f"profile {profile.name} switches off {name}, which is not marked optional: "
                    f"add optional = true to {name} if deployments may run without it, or keep it on here",
                    graph.locate_item(("profiles", profile.name, "disable"), profile.disable, name),
                    profile=profile.name,
                    service=name,
                )


def _missing_provider(graph: Graph, variant: Variant, consumer: str, capability: str) -> Finding:
    providers = graph.providers.get(capability, ())
    if not providers:
        message = (
            f"{consumer} requires {capability}, but no service provides it"
            f"{did_you_mean(capability, graph.providers)}: add a service that provides {capability}, "
            f"or remove it from {consumer}'s requires"
        )
    else:
        who = join_names(providers)
        side = [p for p in providers if len(graph.services[p].provides) > 1]
        why = f": {capability} is a side responsibility of {join_names(side)}" if side else ""
        if variant.also_off:
            remedy = f"or keep {who} on"
        else:
            remedy = f"that stays on in {variant.profile}, or stop disabling {who} there"
        message = (
            f"in {variant}, {consumer} requires {capability}, but its provider {who} is switched off "
            f"{'here' if variant.also_off else 'by this profile'}{why}. Give {capability} a service of its own "
            f"{remedy}"
        )
    return Finding(
        "missing-provider",
        message,
        _requires_at(graph, consumer, capability),
        profile=variant.profile,
        service=consumer,
        capability=capability,
    )


def _optional_provider(graph: Graph, variant: Variant) -> Iterator[Finding]:
    optional = variant.switched_off
    for consumer, capability in missing_providers(graph, variant.disabled):
        if graph.services[consumer].optional or capability not in graph.services[optional].provides:
            continue
        yield Finding(
            "optional-provider",
            f"switching off optional service {optional} alone leaves {capability} without a provider, "
            f"but {consumer} (not optional) requires it: give {capability} a provider of its own, "
            f"or remove optional = true from {optional}",
            _provides_at(graph, optional, capability),
            service=optional,
            capability=capability,
        )


def _offer_unavailable(plan: Plan) -> Iterator[Finding]:
    graph, profile = plan.graph, plan.graph.profiles[plan.variant.profile]
    for capability in profile.offers:
        if plan.deliverable(capability):
            continue
        reason = plan.why_not(capability)
        yield Finding(
            "offer-unavailable",
            f"profile {profile.name} offers {capability} but cannot deliver it: {reason}. "
            f"Switch the missing provider on in {profile.name}, give it another provider, or stop offering {capability}",
            graph.locate_item(("profiles", profile.name, "offers"), profile.offers, capability),
            profile=profile.name,
            capability=capability,
        )


def _cycles(graph: Graph, base: frozenset[str]) -> Iterator[Finding]:
    for path in cycles(graph, base):
        needs = [
            next(c for c in graph.services[consumer].requires if c in graph.services[provider].provides)
            for consumer, provider in zip(path, path[1:], strict=False)
        ]
        links = "; ".join(
            f"{consumer} requires {need} from {provider}"
            for consumer, provider, need in zip(path, path[1:], needs, strict=False)
        )
        yield Finding(
            "cycle",
            f"requirement cycle {' -> '.join(path)} ({links}): none of these can ever start. "
            f"Break the cycle: move one of these responsibilities into a service of its own",
            _requires_at(graph, path[0], needs[0]),
            service=path[0],
            capability=needs[0],
        )


def _audience(graph: Graph, capability: str) -> frozenset[str]:
    """Who depends on ``capability``: the services that require it and the profiles that offer it."""
    return frozenset(graph.consumers.get(capability, ())) | {
        f"profile {p}" for p in graph.offered_by.get(capability, ())
    }


def _coupled_providers(graph: Graph) -> Iterator[Finding]:
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
        yield Finding(
            "coupled-provider",
            f"{service.name} provides {join_names([main, *sides])}, whose consumers differ ({described}): "
            f"switching {service.name} off where {main} is not wanted silently takes {join_names(sides)} away too. "
            f"Give {join_names(sides)} a service of its own",
            graph.locate(("services", service.name, "provides")),
            service=service.name,
            capability=sides[0],
        )


def _unverified_capabilities(graph: Graph) -> Iterator[Finding]:
    for capability, consumers in graph.consumers.items():
        for provider in graph.providers.get(capability, ()):
            service = graph.services[provider]
            if service.verifiable:
                continue
            yield Finding(
                "unverified-capability",
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


def _provider_counts(graph: Graph) -> Iterator[Finding]:
    for capability, providers in graph.providers.items():
        if len(providers) > 1:
            yield Finding(
                "multiple-providers",
                f"{capability} has {len(providers)} providers ({join_names(providers)}); any one of them satisfies its consumers",
                _provides_at(graph, providers[1], capability),
                service=providers[1],
                capability=capability,
            )
        if capability not in graph.consumers and capability not in graph.offered_by:
            yield Finding(
                "unused-capability",
                f"{providers[0]} provides {capability}, but no service requires it and no profile offers it: "
                f"offer it from a profile, or remove it",
                _provides_at(graph, providers[0], capability),
                service=providers[0],
                capability=capability,
            )
