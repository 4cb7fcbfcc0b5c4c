"""``supervisor graph``: draw the services and who provides what each one requires."""

from supervisor.cli.common import UsageError, add_graph_arguments, graph_for_command
from supervisor.cli.output import console
from supervisor.cli.parsers import add_command
from supervisor.views.graph import (
    FORMATS,
    fenced,
    graph_view,
    render_dot,
    render_json,
    render_mermaid,
    render_tree,
)


def add_parser(subcommands) -> None:
    parser = add_command(
        subcommands,
        "graph",
        run,
        help="draw the services and their capability edges (tree, dot, mermaid, json)",
        description="Draw each service with an edge consumer --capability--> provider. Services the "
        "profile switches off are shown marked 'off' (dashed), with their incoming edges dashed. Exit 0, "
        "1 if the file does not load, 2 for usage errors.",
    )
    add_graph_arguments(parser, "show the graph as this profile runs it", FORMATS, "tree")
    parser.add_argument(
        "--fenced", action="store_true", help="with --format mermaid: in a ```mermaid block, for Markdown"
    )


def run(args) -> int:
    if args.fenced and args.format != "mermaid":
        raise UsageError("--fenced goes with --format mermaid")
    graph = graph_for_command(args.graph, args.profile)
    out = console()
    view = graph_view(graph, args.profile)
    if args.format == "tree":
        out.print(render_tree(view), soft_wrap=False)
    else:
        text = {"dot": render_dot, "mermaid": render_mermaid, "json": render_json}[args.format](view)
        out.out(fenced(text) if args.fenced else text, highlight=False)
    return 0
