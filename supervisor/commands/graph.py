"""``supervisor graph``: draw the services and who provides what each one requires."""

from supervisor.commands.common import (
    UsageError,
    load_for_command,
    report_unloadable,
    report_usage_error,
)
from supervisor.output import console
from supervisor.views.graph import FORMATS, graph_view, render_dot, render_json, render_mermaid, render_tree


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser(
        "graph",
        help="draw the services and their capability edges (tree, dot, mermaid, json)",
        description="Draw each service with an edge consumer --capability--> provider. Services the "
        "profile switches off are shown marked 'off' (dashed), with their incoming edges dashed. Exit 0, "
        "1 if the file does not load, 2 for usage errors.",
    )
    parser.add_argument("graph", metavar="GRAPH", help="graph file (TOML)")
    parser.add_argument("--profile", metavar="P", help="show the graph as this profile runs it")
    parser.add_argument("--format", choices=FORMATS, default="tree", help="output format (default: tree)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    try:
        loaded = load_for_command(args.graph, args.profile)
    except UsageError as error:
        return report_usage_error(error)
    if loaded.graph is None:
        return report_unloadable(loaded)
    out = console()
    view = graph_view(loaded.graph, args.profile)
    if args.format == "tree":
        out.print(render_tree(view), soft_wrap=False)
    else:
        text = {"dot": render_dot, "mermaid": render_mermaid, "json": render_json}[args.format](view)
        out.out(text, highlight=False)
    return 0
