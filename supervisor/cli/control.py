"""``supervisor start|stop|restart|shutdown``: act on a running graph through its control socket."""

from supervisor.cli.connect import TIMEOUT, add_control_options, ask
from supervisor.cli.output import console
from supervisor.cli.parsers import add_command

ROLLING = 3600.0
"""How long a restart may take: one unit at a time, each waited for until it is up (or gives up,
bounded by its own start_timeout and restart policy)."""
_HELP = {
    "start": "start a stopped or failed service (or one replica, NAME@N)",
    "stop": "stop a service (or one replica); its dependents are marked degraded",
    "restart": "restart a service's replicas one at a time (or one replica), draining the old processes",
}
_DESCRIPTION = {
    "start": "Start SERVICE (every replica) or one replica NAME@N of a running graph, stopped or failed, "
    "with its restart count cleared; it starts once what it requires is available.",
    "stop": "Stop SERVICE (every replica) or one replica NAME@N of a running graph: its stop_signal, then "
    "SIGKILL after stop_timeout. It stays stopped until started; services that require what it provides "
    "are marked degraded, not stopped.",
    "restart": "Restart SERVICE or one replica NAME@N of a running graph: the replicas one at a time, each "
    "once the one before is up again. A service with a drain_timeout is not stopped first: the old process "
    "finishes its sessions in the background while the new one starts. Exit 1 if a unit did not come up "
    "(the roll stops there).",
}


def add_parser(subcommands) -> None:
    for command, help in _HELP.items():
        parser = add_command(subcommands, command, run, help, _DESCRIPTION[command], action=command)
        parser.add_argument("target", metavar="SERVICE", help="a service, or one replica as NAME@N")
        add_control_options(parser)
    parser = add_command(
        subcommands,
        "shutdown",
        run,
        help="stop the whole graph in reverse order and exit",
        description="Stop a running graph as SIGTERM would: dependents before their providers, then the "
        "supervisor exits.",
        action="shutdown",
        target=None,
    )
    add_control_options(parser)


def run(args) -> int:
    message = {"command": args.action}
    if args.target is not None:
        message["target"] = args.target
    reply = ask(args, message, ROLLING if args.action == "restart" else TIMEOUT)
    out = console()
    if "steps" in reply:  # a restart: what it did to each unit, in order
        for step in reply["steps"]:
            out.print(f"{step['unit']}: {step['done']}", highlight=False)
        return 0 if all(step["ok"] for step in reply["steps"]) else 1
    units = ", ".join(reply.get("units", []))
    out.print(f"{args.action}: {units}" if units else f"{args.action}: requested")
    return 0
