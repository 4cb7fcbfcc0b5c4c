"""``supervisor status``: the running graph's units and capabilities, and whether it is healthy.

The exit status is a health check a container probe can use: 0 when every unit is ready or
done (or at rest) and every capability the profile offers is available, 1 otherwise (with a
line for each thing that is not), 3 when no supervisor answers. ``--ready`` answers only that:
the supervisor says what is wrong (a ``health`` request, a few lines however large the graph),
and the command loads neither rich nor attrs, so a probe run every few seconds stays cheap.
"""

import json
import sys

from supervisor.cli.connect import add_control_options, ask, parsed
from supervisor.cli.parsers import add_command

EXIT_UNHEALTHY = 1


def add_parser(subcommands) -> None:
    parser = add_command(
        subcommands,
        "status",
        run,
        help="show the running graph's services and capabilities; exit 0 healthy, 1 not, 3 not running",
        description="Show the running graph's units and capabilities. Exit 0 when every unit is ready or "
        "done (or stopped on request) and every capability the profile offers is available, 1 otherwise "
        "(saying what is not), 3 when no supervisor answers.",
    )
    add_control_options(parser)
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument("--wide", action="store_true", help="every column, reasons in full")
    parser.add_argument(
        "--ready",
        nargs="*",
        metavar="CAPABILITY",
        help="only answer whether the graph is healthy (or, given capabilities, whether they are "
        "available): for HEALTHCHECK and exec probes",
    )


def run(args) -> int:
    if args.ready is not None:
        problems = ask(args, {"command": "health", "capabilities": args.ready})["problems"]
        print("\n".join(problems) if problems else "ready")
        return EXIT_UNHEALTHY if problems else 0
    from supervisor.status import GraphStatus

    answer = ask(args, {"command": "status"})["status"]
    (status,) = parsed(GraphStatus.from_json, [answer])
    problems = status.problems()
    if args.json:
        print(json.dumps(answer, indent=2))
        if problems:
            print("\n".join(problems), file=sys.stderr)
    else:
        _print_tables(status, args.wide, problems)
    return EXIT_UNHEALTHY if problems else 0


def _print_tables(status, wide: bool, problems: list[str]) -> None:
    import time

    from rich.markup import escape

    from supervisor.cli.output import console
    from supervisor.views.status import capabilities_table, draining_table, units_table

    out = console()
    if wide and not out.is_terminal:
        out.width = 200  # a pipe or a file: keep one unit a line rather than folding at 80
    now = time.time()
    out.print(units_table(status, wide, now))
    out.print(capabilities_table(status, wide, now))
    draining = draining_table(status, now)
    if draining is not None:
        out.print(draining)
    for problem in problems:
        out.print(f"[bold red]not healthy:[/] {escape(problem)}")
    out.print(f"[dim]{'healthy, ' if not problems else ''}as of {time.strftime('%H:%M:%S')}[/]")
