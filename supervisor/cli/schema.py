"""``supervisor schema``: print the graph format as JSON Schema (the source of graphs/schema.json)."""

import json

from supervisor.cli.output import console
from supervisor.graph.schema import json_schema


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser("schema", help="print the graph file format as JSON Schema")
    parser.set_defaults(handler=run)


def run(args) -> int:
    console().out(json.dumps(json_schema(), indent=2, ensure_ascii=False), highlight=False)
    return 0
