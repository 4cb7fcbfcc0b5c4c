"""``supervisor schema``: print the graph format as JSON Schema (the source of graphs/schema.json)."""

import json

from supervisor.cli.output import console
from supervisor.cli.parsers import add_command
from supervisor.graph.schema import json_schema


def add_parser(subcommands) -> None:
    add_command(
        subcommands,
        "schema",
        run,
        help="print the graph file format as JSON Schema",
        description="Print the graph file format as JSON Schema (draft 2020-12), generated from the "
        "same table the loader checks graphs with: the source of graphs/schema.json, for editors "
        "(taplo, Even Better TOML) and CI. Exit 0.",
    )


def run(args) -> int:
    console().out(json.dumps(json_schema(), indent=2, ensure_ascii=False), highlight=False)
    return 0
