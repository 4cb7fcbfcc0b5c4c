"""``supervisor check CAPABILITY``: run a capability's check now, not at its next interval, and
say whether it passed.

The same request a service's report makes (docs/notify.md): the provider's check loop runs it at
once, coalesced with one already asked for, and a failure does what a failed periodic check does
(the capability is lost and its provider re-run). Exit 0 passed, 1 failed, 2 nothing to check
(unknown capability, no check, provider not running), 3 no supervisor answers.
"""

from supervisor.cli.connect import add_control_options, ask
from supervisor.cli.parsers import add_command

EXIT_FAILED = 1
_WAIT = 300.0
"""How long to wait for the answer: the supervisor answers once the check has run, and a check
may have to wait for one already running (each bounded by its own timeout)."""


def add_parser(subcommands) -> None:
    parser = add_command(
        subcommands,
        "check",
        run,
        help="run a capability's check now; exit 0 passed, 1 failed, 2 nothing to check",
        description="Run the check of CAPABILITY's provider in the running graph now, instead of at its next "
        "interval, and print its result. A failed check does what a failed periodic check does: the "
        "capability is lost and its provider re-run. Exit 0 passed, 1 failed, 2 when it cannot be checked "
        "(unknown capability, a provider with no check or not running), 3 when no supervisor answers.",
    )
    parser.add_argument("capability", metavar="CAPABILITY", help="a capability the graph provides")
    add_control_options(parser)


def run(args) -> int:
    from supervisor.cli.output import console
    from supervisor.graph.durations import format_duration
    from supervisor.runtime.log import inert

    answer = ask(args, {"command": "check", "capability": args.capability}, timeout=_WAIT)
    check = answer["check"]
    verdict = "passed" if check["ok"] else "failed"
    took = format_duration(check["duration"] or 0.0)
    output = inert(" / ".join(check["output"].splitlines()))  # one line, whatever the probe wrote
    console().out(f"{answer['capability']}: {verdict} ({took}): {output}", highlight=False)
    return 0 if check["ok"] else EXIT_FAILED
