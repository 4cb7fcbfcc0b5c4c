"""The ``supervisor`` command line: one subcommand a module under ``supervisor.cli``.

Exit statuses follow one convention everywhere: 0 success, 1 the check failed (lint errors, a
breaking diff, an unhealthy ``status``), 2 usage errors (no such file, bad flag, unknown
profile), 3 no supervisor answers, 78 (EX_CONFIG) when ``run`` refuses a graph.
"""

import argparse
import contextlib
import gc
import importlib
import os
import sys
from collections.abc import Iterator, Sequence

from supervisor import __version__
from supervisor.cli.errors import EXIT_USAGE, CommandError

# Subcommand -> the module under supervisor.cli that implements it. Only the module of the
# command being run is imported: `supervisor run` (PID 1 in a container) and `supervisor status`
# start without loading the views, the linter's graph library or trio when they do not need them.
COMMANDS = {
    "lint": "lint",
    "graph": "graph",
    "explain": "explain",
    "diff": "diff",
    "schema": "schema",
    "run": "run",
    "status": "status",
    "check": "check",
    "logs": "logs",
    "events": "logs",
    "top": "top",
    "start": "control",
    "stop": "control",
    "restart": "control",
    "reload": "reload",
    "shutdown": "control",
    "completion": "completion",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with one clear line instead of the usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser for ``argv``: just its subcommand's module when it names one, else all of them
    (for ``--help`` and usage errors)."""
    parser = _Parser(
        prog="supervisor",
        description="A process supervisor whose services declare what they provide and require.",
    )
    parser.add_argument("--version", action="version", version=f"graph-supervisor {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subcommands.required = True
    named = next((arg for arg in argv if not arg.startswith("-")), None)
    modules = [COMMANDS[named]] if named in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for module in modules:
        importlib.import_module(f"supervisor.cli.{module}").add_parser(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    with collector_paused():  # the subcommand's modules imported: nothing cyclic to collect
        parser = build_parser(argv)
    if "_ARGCOMPLETE" in os.environ:  # a shell asks for completions (supervisor completion SHELL)
        import argcomplete

        argcomplete.autocomplete(parser)  # answers and exits
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CommandError as error:
        return error.report()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # `supervisor lint … | head`: the reader left, nothing more to say
        return 0


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector where a command builds much and nothing cyclic worth
    collecting: its passes are pure overhead there (a sixth of the CPU of linting 10,000
    services; 5 ms of the imports at its start). Reference counting frees as usual. Restored
    after, for callers in the same process (tests, the bench)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
