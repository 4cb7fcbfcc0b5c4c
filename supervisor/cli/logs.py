"""``supervisor logs`` and ``supervisor events``: what the running supervisor kept of a unit's
output and of its events, and (``-f``) what comes next, pushed as it happens (a ``watch``)."""

import json

from supervisor.cli.connect import add_control_options, ask, follow, parsed
from supervisor.cli.output import console
from supervisor.cli.parsers import add_command
from supervisor.protocol import watch_request
from supervisor.status import Event, Lost, OutputLine, update_from_json, update_to_json
from supervisor.views.status import event_text, output_text


def add_parser(subcommands) -> None:
    logs = add_command(
        subcommands,
        "logs",
        run_logs,
        help="the last lines a unit wrote (kept by the supervisor), and with -f the ones that follow",
        description="Print the last N lines UNIT (or every replica of a service) wrote on stdout and stderr, "
        "from the bounded ring the running supervisor keeps for each unit; with -f, go on printing new "
        "lines as they come, until interrupted.",
    )
    logs.add_argument("target", metavar="UNIT", help="a unit (NAME@N) or a service (all its replicas)")
    logs.add_argument(
        "-n", "--lines", type=int, default=20, metavar="N", help="lines to show first (default: 20)"
    )
    logs.add_argument("-f", "--follow", action="store_true", help="then print new lines as they come")
    add_control_options(logs)
    events = add_command(
        subcommands,
        "events",
        run_events,
        help="the supervisor's recent events, and with -f the ones that follow",
        description="Print the running supervisor's last N events (starts, readiness, exits, restarts, "
        "capabilities lost and back), as text or, with --json, one JSON object a line; with -f, go on "
        "printing new events as they happen, until interrupted.",
    )
    events.add_argument(
        "-n", "--count", type=int, default=20, metavar="N", help="events to show first (default: 20)"
    )
    events.add_argument("-f", "--follow", action="store_true", help="then print new events as they happen")
    events.add_argument("--json", action="store_true", help="one JSON object a line")
    add_control_options(events)


def run_logs(args) -> int:
    lines = max(args.lines, 0)
    if args.follow:
        stream = follow(args, watch_request(status=False, events=False, output=args.target, lines=lines))
        units = next(stream)["output"]
        records = parsed(update_from_json, stream)
    else:
        answer = ask(args, {"command": "logs", "target": args.target, "lines": lines})
        units = answer["units"]
        records = parsed(OutputLine.from_json, answer["lines"])
    out = console()
    for record in records:
        out.print(output_text(record, len(units) > 1) if isinstance(record, OutputLine) else _lost(record))
    return 0


def run_events(args) -> int:
    count = max(args.count, 0)
    if args.follow:
        stream = follow(args, watch_request(status=False, backlog=count))
        next(stream)
        records = parsed(update_from_json, stream)
    else:
        records = parsed(Event.from_json, ask(args, {"command": "events", "count": count})["events"])
    out = console()
    for record in records:
        if args.json:
            message = record.to_json() if isinstance(record, Event) else update_to_json(record)
            out.out(json.dumps(message), highlight=False)
        else:
            out.print(event_text(record) if isinstance(record, Event) else _lost(record))
    return 0


def _lost(lost: Lost) -> str:
    return f"[yellow]... {lost.count} lost: this terminal did not keep up[/]"
