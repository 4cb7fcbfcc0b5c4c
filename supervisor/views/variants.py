"""Variant questions the views share and :mod:`supervisor.analysis` does not answer directly."""

from supervisor.analysis import Variant, enabled_providers
from supervisor.model import Graph


def variant_label(profile: str | None) -> str:
    """``the base graph`` or ``profile P``, worded as lint words its findings."""
    return str(Variant(profile=profile))


def profile_names(graph: Graph, profile: str | None) -> list[str | None]:
    """The variants a view covers: only ``profile`` if given, else the base graph and every profile."""
    return [profile] if profile is not None else [None, *graph.profiles]


def deliverable(graph: Graph, capability: str, disabled: frozenset[str], running: frozenset[str]) -> bool:
    """Whether some enabled provider of ``capability`` can actually start (is in ``running``)."""
    return any(p in running for p in enabled_providers(graph, capability, disabled))
