"""The plan: one variant of a graph, compiled into what runs in it.

``supervisor run`` lints the selected variant's plan and hands that same plan to the runtime,
which only executes it (as s6-rc compiles a database that s6-rc then runs); lint checks plans
and the views show them, so all of them see a variant the same way. Reloading a graph will
compare two plans.

A plan is a value: the graph and the variant (what is on), equal to another plan of the same
graph and variant. Everything else is derived from those two, on first use, and kept: the
services that are on, which of them can start, the units, the capabilities and their providers,
the requirement edges and the stop order. Lint compiles a plan for every variant of a large
graph, and each rule asks only for what it needs, so compiling is cheap and the graph's
startability (:class:`~supervisor.check.analysis.Startability`) is shared by all its plans.
"""

from functools import cached_property

import attrs
from frozendict import frozendict

from supervisor.check.analysis import (
    Startability,
    Variant,
    blocking_reason,
    deliverable,
    enabled_providers,
    missing_providers,
)
from supervisor.check.context import Context
from supervisor.graph.model import Graph, Service


@attrs.frozen
class Edge:
    """``consumer`` needs ``capability`` from ``provider`` (None: nothing provides it at all);
    ``live`` when that provider is on in the plan's variant."""

    consumer: str
    capability: str
    provider: str | None
    live: bool


@attrs.frozen
class Plan:
    graph: Graph
    variant: Variant
    _startability: Startability = attrs.field(eq=False, repr=False)
    context: Context = attrs.field(factory=Context, eq=False, repr=False)
    """What is known of where it runs (variables, the machine's programs), for lint's rules."""

    @classmethod
    def compile(
        cls,
        graph: Graph,
        variant: Variant,
        startability: Startability | None = None,
        context: Context | None = None,
    ) -> "Plan":
        """The plan of ``variant``; pass the graph's ``startability`` when compiling several."""
        return cls(
            graph,
            variant,
            startability if startability is not None else Startability(graph),
            context if context is not None else Context(),
        )

    @property
    def disabled(self) -> frozenset[str]:
        return self.variant.disabled

    @property
    def base(self) -> "Plan":
        """The plan of the same graph's base variant (every service on), for rules about its shape."""
        return Plan(self.graph, Variant(), self._startability, self.context)

    @cached_property
    def services(self) -> tuple[Service, ...]:
        """The services on in this variant, in file order."""
        return tuple(s for s in self.graph.services.values() if s.name not in self.disabled)

    @cached_property
    def startable(self) -> frozenset[str]:
        """The services on here whose requirements can all be met."""
        return self._startability.of(self.disabled)

    @cached_property
    def units(self) -> tuple[tuple[Service, int | None], ...]:
        """``(service, replica)`` for every process to run: replica None for a single copy, else
        1 … replicas."""
        return tuple(
            (service, replica)
            for service in self.services
            for replica in ([None] if service.replicas == 1 else range(1, service.replicas + 1))
        )

    @cached_property
    def consumers(self) -> frozendict[str, tuple[str, ...]]:
        """Capability -> the services on that require it (the graph's consumers, less those off),
        for every capability that has a provider."""
        consumers, off = self.graph.consumers, self.disabled
        return frozendict(
            {c: tuple(name for name in consumers.get(c, ()) if name not in off) for c in self.capabilities}
        )

    @cached_property
    def capabilities(self) -> frozendict[str, tuple[str, ...]]:
        """Capability -> its providers that are on, for every capability that has one."""
        found = {}
        for capability, providers in self.graph.providers.items():
            on = tuple(p for p in providers if p not in self.disabled)
            if on:
                found[capability] = on
        return frozendict(found)

    @cached_property
    def edges(self) -> tuple[Edge, ...]:
        """An edge from every service on to each provider of each capability it requires, in file
        order; a requirement nobody provides has one edge to None."""
        edges = []
        for service in self.services:
            for capability in service.requires:
                providers = self.graph.providers.get(capability, ())
                edges += [Edge(service.name, capability, p, p not in self.disabled) for p in providers]
                if not providers:
                    edges.append(Edge(service.name, capability, None, False))
        return tuple(edges)

    @cached_property
    def stop_order(self) -> tuple[tuple[str, ...], ...]:
        """The services on, in generations that stop together: every service after all services
        that require what it provides (dependents stop before their providers)."""
        dependents: dict[str, set[str]] = {s.name: set() for s in self.services}
        for edge in self.edges:
            if edge.live and edge.provider != edge.consumer:
                dependents[edge.provider].add(edge.consumer)
        generations = []
        left = dict(dependents)
        while left:
            ready = sorted(name for name, users in left.items() if not users & left.keys())
            if not ready:  # a cycle (lint refuses those): stop what is left together
                ready = sorted(left)
            generations.append(tuple(ready))
            for name in ready:
                del left[name]
        return tuple(generations)

    @cached_property
    def depths(self) -> frozendict[str, int]:
        """Service on -> its depth: 0 if it requires nothing from a service on here, else one more
        than its deepest provider (a cycle, which lint refuses, is cut where it closes). Views
        list units by it, providers before the services that need them."""
        providers: dict[str, set[str]] = {s.name: set() for s in self.services}
        for edge in self.edges:
            if edge.live and edge.provider != edge.consumer:
                providers[edge.consumer].add(edge.provider)
        depths: dict[str, int] = {}

        def depth(name: str, path: frozenset[str]) -> int:
            if name not in depths:
                below = [depth(p, path | {name}) for p in providers[name] if p not in path]
                depths[name] = 1 + max(below) if below else 0
            return depths[name]

        for name in providers:
            depth(name, frozenset())
        return frozendict(depths)

    @property
    def offers(self) -> tuple[str, ...]:
        """What the variant's profile offers (nothing for the base graph)."""
        return self.graph.profiles[self.variant.profile].offers if self.variant.profile is not None else ()

    @cached_property
    def missing(self) -> tuple[tuple[str, str], ...]:
        """``(consumer, capability)`` for every service on whose capability has no provider on."""
        return tuple(missing_providers(self.graph, self.disabled))

    def providers_on(self, capability: str) -> tuple[str, ...]:
        return enabled_providers(self.graph, capability, self.disabled)

    def deliverable(self, capability: str) -> bool:
        """Whether some provider of ``capability`` that is on can start."""
        return deliverable(self.graph, capability, self.disabled, self.startable)

    def why_not(self, capability: str) -> str:
        """Why ``capability`` cannot be had here, followed down to the root cause."""
        return blocking_reason(self.graph, capability, self.disabled, self.startable)
