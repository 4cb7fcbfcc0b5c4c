"""``supervisor start|stop|restart|shutdown``: act on a running graph through its control socket."""

from supervisor.cli.connect import add_control_options, ask
from supervisor.cli.output import console
from supervisor.cli.parsers import add_command

_HELP = {
    "start": "start a stopped or failed service (or one replica, NAME@N)",
    "stop": "stop a service (or one replica); its dependents are marked degraded",
    "restart": "stop and start a service (or one replica)",
}
_DESCRIPTION = {
    "start": "Start SERVICE (every replica) or one replica NAME@N of a running graph, stopped or failed, "
    "with its restart count cleared; it starts once what it requires is available.",
    "stop": "Stop SERVICE (every replica) or one replica NAME@N of a running graph: its stop_signal, then "
    "SIGKILL after stop_timeout. It stays stopped until started; services that require what it provides "
    "are marked degraded, not stopped.",
    "restart": "Stop SERVICE (every replica) or one replica NAME@N of a running graph, then start it.",
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
    reply = ask(args, message)
    units = ", ".join(reply.get("units", []))
    console().print(f"{args.action}: {units}" if units else f"{args.action}: requested")
    return 0
