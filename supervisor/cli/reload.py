"""``supervisor reload [GRAPH]``: apply a new version of the running graph (see
``supervisor.runtime.reload``), and say what was done to each service."""

import os

from supervisor.cli.connect import add_control_options, ask
from supervisor.cli.control import ROLLING
from supervisor.cli.output import console, error_console
from supervisor.cli.parsers import add_command


def add_parser(subcommands) -> None:
    parser = add_command(
        subcommands,
        "reload",
        run,
        help="apply a new version of the running graph: start, stop and restart only what changed",
        description="Load GRAPH (default: the file the supervisor runs, read again) with the running "
        "profile, lint it as run does, and apply it: added services start, removed ones stop, changed ones "
        "restart (rolling, drained), the rest keep running untouched. Exit 1, changing nothing, if it has "
        "errors (they are printed), or if a changed service does not come up again. SIGHUP to the "
        "supervisor does the same.",
    )
    parser.add_argument(
        "new_graph", metavar="GRAPH", nargs="?", help="the new graph file (default: the running one)"
    )
    add_control_options(parser)


def run(args) -> int:
    message = {"command": "reload"}
    if args.new_graph is not None:
        message["graph"] = os.path.abspath(args.new_graph)  # resolved here, where it was named
    reply = ask(args, message, ROLLING)
    if not reply["applied"]:
        err = error_console()
        for finding in reply["findings"]:
            where = f"{finding['file']}:{finding['line']}:{finding['column']}"
            line = f"{where}: {finding['severity']} {finding['rule']}: {finding['message']}"
            err.print(line, highlight=False, markup=False)
        err.print(f"reload refused: {reply['refused']}", highlight=False, markup=False)
        return 1
    out = console()
    for done in reply["services"]:
        detail = f" ({done['detail']})" if done["detail"] else ""
        out.print(f"{done['service']}: {done['done']}{detail}", highlight=False, markup=False)
    return 0 if all(done["done"] != "restart failed" for done in reply["services"]) else 1
