"""Stop order, computed without networkx so the long-lived runtime does not carry it."""

from supervisor.model import Graph


def stop_generations(graph: Graph, disabled: frozenset[str]) -> list[list[str]]:
    """Enabled services in generations: every service comes after all services that require what
    it provides (dependents stop before their providers); one generation stops at once."""
    enabled = [s for s in graph.services.values() if s.name not in disabled]
    dependents: dict[str, set[str]] = {s.name: set() for s in enabled}
    for service in enabled:
        for capability in service.requires:
            for provider in graph.providers.get(capability, ()):
                if provider in dependents and provider != service.name:
                    dependents[provider].add(service.name)
    generations: list[list[str]] = []
    left = dict(dependents)
    while left:
        ready = sorted(name for name, users in left.items() if not users & left.keys())
        if not ready:  # a cycle (lint refuses those): stop what is left together
            ready = sorted(left)
        generations.append(ready)
        for name in ready:
            del left[name]
    return generations
