"""The ``supervisor`` command line: one subcommand a module under ``supervisor.commands``.

Exit statuses follow one convention everywhere: 0 success, 1 the check failed (lint errors, a
breaking diff), 2 usage errors (no such file, bad flag, unknown profile), 78 (EX_CONFIG) when
``run`` refuses a graph.
"""

import argparse
import sys
from collections.abc import Sequence

from supervisor import __version__
from supervisor.commands import control, diff, explain, graph, lint, run, schema, status

COMMANDS = (lint, schema, graph, explain, diff, run, status, control)

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with one clear line instead of the usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="supervisor",
        description="A process supervisor whose services declare what they provide and require.",
    )
    parser.add_argument("--version", action="version", version=f"graph-supervisor {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subcommands.required = True
    for command in COMMANDS:
        command.add_parser(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # `supervisor lint … | head`: the reader left, nothing more to say
        return 0
