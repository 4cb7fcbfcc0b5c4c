"""``supervisor status``: the running graph's units and capabilities, from the control socket."""

import json
import os
import time

from rich.table import Table

from supervisor.cli.common import UsageError, add_command
from supervisor.cli.output import console
from supervisor.runtime.client import ControlError, request

_STATE_STYLE = {
    "ready": "green",
    "done": "green",
    "available": "green",
    "degraded": "yellow",
    "backoff": "yellow",
    "waiting": "yellow",
    "starting": "cyan",
    "stopping": "cyan",
    "failed": "bold red",
    "lost": "bold red",
    "unavailable": "red",
}
TIMEOUT = 30.0


def add_control_option(parser) -> None:
    parser.add_argument(
        "--control",
        metavar="PATH",
        help="control socket (default: $SUPERVISOR_CONTROL, else the default runtime dir's control.sock)",
    )


def control_path(args) -> str:
    path = args.control or os.environ.get("SUPERVISOR_CONTROL")
    if not path:
        raise UsageError("no control socket: pass --control PATH or set SUPERVISOR_CONTROL")
    return path


def ask(args, message: dict) -> dict:
    try:
        return request(control_path(args), message, TIMEOUT)
    except ControlError as error:
        raise UsageError(str(error)) from None


def add_parser(subcommands) -> None:
    parser = add_command(
        subcommands,
        "status",
        run,
        help="show the running graph's services and capabilities",
        description="Ask a running supervisor, through its control socket, for each unit (state, pid, "
        "uptime, restarts, last exit, reason) and each capability (available, lost, unavailable), as a "
        "table or as JSON.",
    )
    add_control_option(parser)
    parser.add_argument("--json", action="store_true", help="print the status as JSON")


def _styled(state: str) -> str:
    return f"[{_STATE_STYLE.get(state, 'white')}]{state}[/]"


def _uptime(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (
        f"{hours}h{minutes:02d}m" if hours else (f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s")
    )


def _exit(last: dict | None) -> str:
    if last is None:
        return ""
    return f"exit {last['code']}" if last["signal"] is None else last["signal"]


def run(args) -> int:
    status = ask(args, {"command": "status"})["status"]
    out = console()
    if not out.is_terminal:
        out.width = 200  # a pipe or a file: keep one unit a line rather than folding at 80
    if args.json:
        out.out(json.dumps(status, indent=2), highlight=False)
        return 0
    capabilities = {c["name"]: c for c in status["capabilities"]}
    table = Table(title=f"graph {status['graph']} (supervisor pid {status['pid']})", title_justify="left")
    for column in (
        "service",
        "replica",
        "kind",
        "state",
        "pid",
        "uptime",
        "restarts",
        "last exit",
        "provides",
        "reason",
    ):
        table.add_column(column, overflow="fold")
    for unit in status["services"]:
        provides = ", ".join(
            f"{c} {_styled(capabilities[c]['state'])}" for c in unit["provides"] if c in capabilities
        )
        table.add_row(
            unit["name"],
            "" if unit["replica"] is None else str(unit["replica"]),
            unit["kind"],
            _styled(unit["state"]),
            str(unit["pid"] or ""),
            _uptime(unit["uptime"]),
            str(unit["restarts"]),
            _exit(unit["last_exit"]),
            provides,
            unit["reason"],
        )
    out.print(table)
    out.print(f"[dim]as of {time.strftime('%H:%M:%S')}[/]")
    return 0
