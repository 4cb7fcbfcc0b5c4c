"""The running graph as a tree: provider → capability → consumers, each in its state's colour.

Roots are the services that require nothing; a service is expanded where the tree first reaches
it and named "(above)" after that, so the tree stays finite and each subtree is read once.
"""

from collections import Counter

from rich.text import Text
from rich.tree import Tree

from supervisor.status import GraphStatus, UnitState, UnitStatus
from supervisor.views.status import STYLE, ordered, styled

_WORST_FIRST = (
    UnitState.FAILED,
    UnitState.BACKOFF,
    UnitState.DEGRADED,
    UnitState.WAITING,
    UnitState.STARTING,
    UnitState.STOPPING,
    UnitState.STOPPED,
    UnitState.READY,
    UnitState.DONE,
)


def service_label(name: str, units: list[UnitStatus]) -> Text:
    """``web ready``, or ``web 1 ready, 1 failed`` for replicas that differ; coloured by the worst."""
    states = Counter(unit.state for unit in units)
    worst = min(states, key=_WORST_FIRST.index)
    text = Text(f"{name} ", style=f"bold {STYLE[worst]}")
    if len(states) == 1:
        text.append_text(styled(worst))
    else:
        for index, state in enumerate(sorted(states, key=_WORST_FIRST.index)):
            text.append(", " if index else "")
            text.append(f"{states[state]} {state.value}", style=STYLE[state])
    return text


def graph_tree(status: GraphStatus) -> Tree:
    services: dict[str, list[UnitStatus]] = {}
    for unit in ordered(status.services):
        services.setdefault(unit.service, []).append(unit)
    provides = {name: units[0].provides for name, units in services.items()}
    capabilities = {c.name: c for c in status.capabilities}
    tree = Tree(Text(f"graph {status.graph}", style="bold"))
    shown: set[str] = set()

    def add(branch: Tree, name: str) -> None:
        if name in shown:
            branch.add(Text(f"{name} (above)", style="dim"))
            return
        shown.add(name)
        node = branch.add(service_label(name, services[name]))
        for capability in provides[name]:
            if capability not in capabilities:
                continue
            cap = capabilities[capability]
            label = Text("→ ", style="dim")
            label.append(capability, style=STYLE[cap.state])
            label.append(f" {cap.state.value}", style=STYLE[cap.state])
            consumers = node.add(label)
            for consumer in cap.consumers:
                if consumer in services:
                    add(consumers, consumer)

    for name, units in services.items():
        if units[0].depth == 0:
            add(tree, name)
    for name in services:  # a cycle has no root: still show every service
        if name not in shown:
            add(tree, name)
    return tree
