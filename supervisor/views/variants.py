"""Variant questions the views share and :mod:`supervisor.check.plan` does not answer directly."""

from supervisor.check.analysis import Startability, Variant, selected
from supervisor.check.plan import Plan
from supervisor.graph.model import Graph


def variant_label(profile: str | None) -> str:
    """``the base graph`` or ``profile P``, worded as lint words its findings."""
    return str(Variant(profile=profile))


def profile_plans(graph: Graph, profile: str | None, startability: Startability) -> list[Plan]:
    """The variants a view covers: only ``profile`` if given, else the base graph and every profile."""
    return [
        Plan.compile(graph, selected(graph, name), startability)
        for name in ([profile] if profile is not None else [None, *graph.profiles])
    ]
