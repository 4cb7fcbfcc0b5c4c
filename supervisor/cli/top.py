"""``supervisor top``: the live view of a running graph (a Textual app, :mod:`supervisor.views.top`).

Textual is imported here, when ``top`` runs, and nowhere else: ``supervisor run`` and
``status`` never load it.
"""

from supervisor.cli.connect import add_control_options, control_path
from supervisor.cli.errors import UsageError
from supervisor.cli.parsers import add_command


def add_parser(subcommands) -> None:
    parser = add_command(
        subcommands,
        "top",
        run,
        help="a live view of the running graph: units, capabilities, graph, events; act on units",
        description="Watch the running graph as it changes (the supervisor pushes every change): units "
        "with their state, reason, CPU and memory; capabilities with their last check; the graph; the "
        "events. Enter: a unit's detail; s start, x stop, r restart, l its log, e what breaks if it "
        "stops, / filter, q quit.",
    )
    add_control_options(parser)
    parser.add_argument(
        "--interval",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how often top samples CPU and memory of the units' processes (default: 2; 0: never, "
        "and then top does nothing until something changes)",
    )


def run(args) -> int:
    if args.interval < 0:
        raise UsageError("--interval must be 0 or more seconds")
    from supervisor.views.top.app import TopApp

    TopApp(control_path(args), args.interval).run()
    return 0
