"""``supervisor start|stop|restart|shutdown``: act on a running graph through its control socket."""

from supervisor.cli.connect import add_control_options, ask
from supervisor.cli.output import console

_HELP = {
    "start": "start a stopped or failed service (or one replica, NAME@N)",
    "stop": "stop a service (or one replica); its dependents are marked degraded",
    "restart": "stop and start a service (or one replica)",
}


def add_parser(subcommands) -> None:
    for command, help in _HELP.items():
        parser = subcommands.add_parser(command, help=help)
        parser.add_argument("target", metavar="SERVICE", help="a service, or one replica as NAME@N")
        add_control_options(parser)
        parser.set_defaults(handler=run, action=command)
    parser = subcommands.add_parser("shutdown", help="stop the whole graph in reverse order and exit")
    add_control_options(parser)
    parser.set_defaults(handler=run, action="shutdown", target=None)


def run(args) -> int:
    message = {"command": args.action}
    if args.target is not None:
        message["target"] = args.target
    reply = ask(args, message)
    units = ", ".join(reply.get("units", []))
    console().print(f"{args.action}: {units}" if units else f"{args.action}: requested")
    return 0
