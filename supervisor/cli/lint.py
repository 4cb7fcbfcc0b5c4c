"""``supervisor lint``: prove in CI that every deployment variant has a provider for every need."""

import sys

from supervisor.check.findings import Scope, Severity
from supervisor.check.lint import RULES, lint
from supervisor.cli import collector_paused
from supervisor.cli.common import UsageError, add_format_option, check_profile, load_for_command
from supervisor.cli.context import add_value_options, given_values
from supervisor.cli.output import console
from supervisor.cli.parsers import add_command
from supervisor.graph.loader import Loaded, load_bytes
from supervisor.runtime.prepare import check_context
from supervisor.runtime.rundir import default_runtime_dir
from supervisor.views.findings import FORMATS, render, write_machine


def add_parser(subcommands) -> None:
    parser = add_command(
        subcommands,
        "lint",
        run,
        help="check graph files: every requirement has a provider in every variant",
        description="Lint the base graph, every profile, and every optional service switched off on its own. "
        "Exit 0 with no errors, 1 with errors (or warnings under --strict), 2 for usage errors.",
    )
    parser.add_argument(
        "graphs", nargs="+", metavar="GRAPH", help="graph files (TOML); - reads one from standard input"
    )
    parser.add_argument("--profile", metavar="P", help="lint only this profile")
    add_format_option(parser, FORMATS, "text")
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        choices=[rule.id for rule in RULES.values() if rule.scope is not Scope.FILE],
        metavar="RULE",
        help="leave this rule's findings out (repeatable), such as command-not-found on a CI machine "
        "that does not have the services' programs",
    )
    add_value_options(parser)


def run(args) -> int:
    with collector_paused():
        return _run(args)


def _run(args) -> int:
    values = given_values(args)
    if args.graphs.count(STDIN) > 1:
        raise UsageError("standard input (-) can be read once: name it once")
    loaded = [_load(path, args.profile) for path in args.graphs]
    findings = []
    for item in loaded:
        findings += item.findings
        if item.graph is not None:
            runtime_dir = default_runtime_dir(item.graph.name)[1]
            context = check_context(item.graph, values, runtime_dir, item.graph.services.values())
            findings += lint(item.graph, args.profile, context)
    findings = [f for f in findings if f.rule.id not in args.ignore]
    sources = {item.source.file: item.source for item in loaded}
    if args.format == "text":
        render(args.format, console(), findings, sources)
    else:
        write_machine(args.format, sys.stdout, findings, sources)  # no console: rich stays unloaded
    failing = {Severity.ERROR, Severity.WARNING} if args.strict else {Severity.ERROR}
    return 1 if any(f.severity in failing for f in findings) else 0


STDIN = "-"


def _load(path: str, profile: str | None) -> Loaded:
    """The graph at ``path``, or on standard input for ``-`` (shown as ``<stdin>``)."""
    if path != STDIN:
        return load_for_command(path, profile)
    loaded = load_bytes(sys.stdin.buffer.read(), "<stdin>")
    check_profile(loaded, profile)
    return loaded
