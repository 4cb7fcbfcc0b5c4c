"""``supervisor explain``: who provides and needs a capability; what a service carries and what
switching it off would take down."""

import json

import attrs

from supervisor.commands.common import (
    UsageError,
    load_for_command,
    report_unloadable,
    report_usage_error,
)
from supervisor.output import console
from supervisor.views.explain import explain, render
from supervisor.wording import did_you_mean

FORMATS = ("text", "json")


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser(
        "explain",
        help="explain a capability or a service: providers, consumers, impact of switching it off",
        description="Explain NAME, a capability, a service or both: who provides and needs it in each "
        "variant, and for a service the chain of capabilities and services lost if it is switched off. "
        "Exit 0, 1 if the file does not load, 2 for usage errors (including an unknown NAME).",
    )
    parser.add_argument("graph", metavar="GRAPH", help="graph file (TOML)")
    parser.add_argument("name", metavar="NAME", help="a capability or service of the graph")
    parser.add_argument("--profile", metavar="P", help="explain only this profile")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    try:
        loaded = load_for_command(args.graph, args.profile)
        graph = loaded.graph
        if graph is not None and args.name not in graph.services and args.name not in graph.capabilities:
            raise UsageError(
                f"{loaded.source.file}: {args.name!r} is neither a service nor a capability"
                f"{did_you_mean(args.name, [*graph.services, *graph.capabilities])}"
            )
    except UsageError as error:
        return report_usage_error(error)
    if graph is None:
        return report_unloadable(loaded)
    explanation = explain(graph, args.name, args.profile)
    if args.format == "json":
        console().out(json.dumps(attrs.asdict(explanation), indent=2), highlight=False)
    else:
        console().print(render(explanation), soft_wrap=False)
    return 0
