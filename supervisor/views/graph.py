"""``supervisor graph``: the services and their capability edges, as a tree, DOT, Mermaid or JSON.

Services a profile switches off are shown, marked ``off``, rather than omitted: the point of the
picture is often exactly which edge a profile cuts. An edge goes from the consumer to each
provider of a capability it requires; an edge to a switched-off provider is drawn dashed and
marked off, and a requirement nobody provides at all points at a ``no provider`` placeholder.
"""

import json
from typing import Self

import attrs
from rich.markup import escape
from rich.tree import Tree

from supervisor.check.analysis import selected
from supervisor.check.plan import Edge, Plan
from supervisor.graph.model import Graph, Service
from supervisor.views.variants import variant_label

FORMATS = ("tree", "dot", "mermaid", "json")


@attrs.frozen
class DeclaredService:
    """A service as its file declares it, what every view of one starts with (``graph``'s nodes,
    ``explain``'s service report extend it with what each shows)."""

    name: str
    kind: str
    description: str
    optional: bool
    provides: tuple[str, ...]

    @classmethod
    def of(cls, service: Service, **shown) -> Self:
        """The record of ``service``: what it declares read from it, the rest ``shown``."""
        return cls(
            service.name, service.kind, service.description, service.optional, service.provides, **shown
        )

    @property
    def flags(self) -> list[str]:
        """Its kind, and ``optional`` if it is."""
        return [self.kind, "optional"] if self.optional else [self.kind]


@attrs.frozen(kw_only=True)
class Node(DeclaredService):
    enabled: bool
    startable: bool
    requires: tuple[str, ...]


@attrs.frozen
class Offer:
    capability: str
    deliverable: bool


@attrs.frozen
class GraphView:
    graph: str
    profile: str | None
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    offers: tuple[Offer, ...]


def graph_view(graph: Graph, profile: str | None = None) -> GraphView:
    """The graph as seen in ``profile`` (the base graph when None): its plan's edges, and every
    service, on or off.

    Switched-off consumers have no edges: they do not run, so they need nothing.
    """
    plan = Plan.compile(graph, selected(graph, profile))
    nodes = tuple(
        Node.of(
            s,
            enabled=s.name not in plan.disabled,
            startable=s.name in plan.startable,
            requires=s.requires,
        )
        for s in graph.services.values()
    )
    offers = tuple(Offer(c, plan.deliverable(c)) for c in plan.offers)
    return GraphView(graph.name, profile, nodes, plan.edges, offers)


def _flags(node: Node) -> list[str]:
    flags = node.flags
    if not node.enabled:
        flags.append("off")
    elif not node.startable:
        flags.append("cannot start")
    return flags


def render_json(view: GraphView) -> str:
    return json.dumps(attrs.asdict(view), indent=2)


def render_tree(view: GraphView) -> Tree:
    """A rich Tree: each service with its flags, what it provides, and who provides what it needs."""
    root = Tree(
        f"[bold]{escape(view.graph)}[/] [dim]({variant_label(view.profile)}; off = switched off here)[/]"
    )
    by_consumer: dict[str, list[Edge]] = {}
    for edge in view.edges:
        by_consumer.setdefault(edge.consumer, []).append(edge)
    for node in view.nodes:
        style = "dim" if not node.enabled else ("red" if not node.startable else "bold")
        label = f"[{style}]{escape(node.name)}[/] [dim]{escape(', '.join(_flags(node)))}[/]"
        branch = root.add(label)
        if node.provides:
            branch.add(f"provides {escape(', '.join(node.provides))}")
        if not node.enabled or not node.requires:
            continue
        requires = branch.add("requires")
        for capability in node.requires:
            edges = [e for e in by_consumer[node.name] if e.capability == capability]
            requires.add(f"{escape(capability)} ← {_providers_markup(edges)}")
    if view.offers:
        offers = root.add(f"[bold]offers[/] [dim]({variant_label(view.profile)})[/]")
        for offer in view.offers:
            status = "[green]deliverable[/]" if offer.deliverable else "[red]NOT deliverable[/]"
            offers.add(f"{escape(offer.capability)}: {status}")
    return root


def _providers_markup(edges: list[Edge]) -> str:
    if edges[0].provider is None:
        return "[red]no provider[/]"
    names = [escape(e.provider) if e.live else f"[red]{escape(e.provider)} (off)[/]" for e in edges]
    return ", ".join(names)


def _dot_id(text: str) -> str:
    """A DOT double-quoted ID: backslashes and quotes escaped, so any name is safe."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(view: GraphView) -> str:
    """Graphviz DOT, left to right; off services grey and dashed, missing providers red."""
    lines = [
        f"digraph {_dot_id(view.graph)} {{",
        f"  label={_dot_id(f'{view.graph} ({variant_label(view.profile)})')};",
        "  rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in view.nodes:
        label = f"{node.name}\n{', '.join(_flags(node))}"
        style = ""
        if not node.enabled:
            style = ', style="rounded,dashed", color=grey, fontcolor=grey'
        elif not node.startable:
            style = ", color=red"
        lines.append(f"  {_dot_id(node.name)} [label={_dot_id(label)}{style}];")
    for capability in sorted({e.capability for e in view.edges if e.provider is None}):
        lines.append(
            f"  {_dot_id('missing:' + capability)} "
            f"[label={_dot_id(capability + chr(10) + 'no provider')}, shape=plaintext, fontcolor=red];"
        )
    for edge in view.edges:
        target = edge.provider if edge.provider is not None else "missing:" + edge.capability
        style = "" if edge.live else ", style=dashed, color=red, fontcolor=red"
        lines.append(
            f"  {_dot_id(edge.consumer)} -> {_dot_id(target)} [label={_dot_id(edge.capability)}{style}];"
        )
    lines.append("}")
    return "\n".join(lines)


def _mermaid_text(text: str) -> str:
    """Mermaid label text in double quotes: quotes and markup characters as entity codes."""
    return '"' + "".join(f"#{ord(c)};" if c in '"#<>' else c for c in text) + '"'


def render_mermaid(view: GraphView) -> str:
    """A Mermaid flowchart, plain as ``mmdc`` and the live editor take it (:func:`fenced` puts it
    in Markdown). Names become labels of generated ids (n0, n1, …), so '.', '-' and '_' in names
    cannot clash with Mermaid's own syntax."""
    ids = {node.name: f"n{i}" for i, node in enumerate(view.nodes)}
    missing = {
        c: f"m{i}" for i, c in enumerate(sorted({e.capability for e in view.edges if e.provider is None}))
    }
    lines = ["flowchart LR"]
    for node in view.nodes:
        lines.append(f"  {ids[node.name]}[{_mermaid_text(node.name + ' (' + ', '.join(_flags(node)) + ')')}]")
    for capability, node_id in missing.items():
        lines.append(f"  {node_id}{{{{{_mermaid_text(capability + ': no provider')}}}}}")
    for edge in view.edges:
        target = ids[edge.provider] if edge.provider is not None else missing[edge.capability]
        arrow = "-->" if edge.live else "-.->"
        lines.append(f"  {ids[edge.consumer]} {arrow}|{_mermaid_text(edge.capability)}| {target}")
    lines.append("  classDef off stroke-dasharray: 5 5, color:#888;")
    lines.append("  classDef broken stroke:#d00, color:#d00;")
    off = [ids[n.name] for n in view.nodes if not n.enabled]
    broken = [ids[n.name] for n in view.nodes if n.enabled and not n.startable] + list(missing.values())
    if off:
        lines.append(f"  class {','.join(off)} off;")
    if broken:
        lines.append(f"  class {','.join(broken)} broken;")
    return "\n".join(lines)


def fenced(mermaid: str) -> str:
    """A Mermaid diagram as a Markdown code block, which GitHub and GitLab draw."""
    return f"```mermaid\n{mermaid}\n```"
