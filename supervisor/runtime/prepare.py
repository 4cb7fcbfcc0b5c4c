"""What a graph goes through before it runs, at ``run`` and at every ``reload``: the selected
variant compiled into a plan with what this machine says about it (the values of its ``${VAR}``s,
the programs it lacks), and linted as the one variant about to run. One function for both, so
that a reload refuses exactly what ``run`` refuses.
"""

from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from supervisor.check.analysis import Variant
from supervisor.check.context import Context
from supervisor.check.findings import Finding, Severity
from supervisor.check.lint import lint_plans
from supervisor.check.plan import Plan
from supervisor.graph.model import Graph, Service
from supervisor.runtime.launch import graph_variables
from supervisor.runtime.programs import unrunnable


def check_context(
    graph: Graph, values: Mapping[str, str], runtime_dir: Path, services: Iterable[Service]
) -> Context:
    """What lint's rules know of where ``graph`` runs: ``values`` for its ``${VAR}``s, and which
    commands of ``services`` cannot run on this machine."""
    variables = graph_variables(graph.file, runtime_dir, values)
    return Context(variables=variables, unrunnable=unrunnable(services, variables))


def checked_plan(
    graph: Graph, variant: Variant, values: Mapping[str, str], runtime_dir: Path
) -> tuple[Plan, list[Finding]]:
    """The plan of ``variant`` to run in ``runtime_dir`` (absolute: its ``RUNTIME_DIR``) with
    ``values`` (the environment), and the errors lint finds in it as ``run`` checks it: none, or it
    must not run."""
    bare = Plan.compile(graph, variant)
    context = check_context(graph, values, runtime_dir, bare.services)
    plan = attrs.evolve(bare, context=context)  # the same startability: computed once
    return plan, [f for f in lint_plans([plan], at_run=True) if f.severity is Severity.ERROR]
