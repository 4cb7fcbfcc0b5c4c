"""``supervisor explain``: who provides and needs a capability; what a service carries and what
switching it off would take down."""

import json

import attrs

from supervisor.cli.common import UsageError, add_graph_arguments, graph_for_command
from supervisor.cli.output import console
from supervisor.cli.parsers import add_command
from supervisor.views.explain import explain, render
from supervisor.wording import did_you_mean

FORMATS = ("text", "json")


def add_parser(subcommands) -> None:
    parser = add_command(
        subcommands,
        "explain",
        run,
        help="explain a capability or a service: providers, consumers, impact of switching it off",
        description="Explain NAME, a capability, a service or both: who provides and needs it in each "
        "variant, and for a service the chain of capabilities and services lost if it is switched off. "
        "Exit 0, 1 if the file does not load, 2 for usage errors (including an unknown NAME).",
    )
    add_graph_arguments(parser, "explain only this profile", FORMATS, "text")
    parser.add_argument("name", metavar="NAME", help="a capability or service of the graph")


def run(args) -> int:
    graph = graph_for_command(args.graph, args.profile)
    if args.name not in graph.services and args.name not in graph.capabilities:
        raise UsageError(
            f"{graph.file}: {args.name!r} is neither a service nor a capability"
            f"{did_you_mean(args.name, [*graph.services, *graph.capabilities])}"
        )
    explanation = explain(graph, args.name, args.profile)
    if args.format == "json":
        console().out(json.dumps(attrs.asdict(explanation), indent=2), highlight=False)
    else:
        console().print(render(explanation), soft_wrap=False)
    return 0
