"""``supervisor run``: lint the selected variant, then run it; a graph with errors never starts."""

import os
from pathlib import Path

from supervisor.check.analysis import selected
from supervisor.check.findings import Severity
from supervisor.cli.common import UsageError, add_graph_arguments, load_for_command
from supervisor.cli.output import error_console
from supervisor.cli.parsers import add_command
from supervisor.runtime.log import FORMATS, Log
from supervisor.runtime.main import MetricsError, run_graph
from supervisor.runtime.prepare import checked_plan
from supervisor.runtime.rundir import RuntimeDirError, absolute, default_runtime_dir, make_private
from supervisor.views.findings import render

EX_CONFIG = 78


def add_parser(subcommands) -> None:
    parser = add_command(
        subcommands,
        "run",
        run,
        help="run a graph: start services as their requirements become available",
        description="Lint the selected profile, then start every service as soon as what it requires is "
        "available. Exit 78 without starting anything if the graph has errors (including a variable "
        "with no value and a command that cannot run here); else, once stopped, 0, or the exit code "
        "of the critical or main service that ended it.",
    )
    add_graph_arguments(parser, "run this profile")
    parser.add_argument(
        "--disable", action="append", default=[], metavar="SERVICE", help="switch a service off (repeatable)"
    )
    parser.add_argument(
        "--runtime-dir",
        metavar="DIR",
        help="the run's private directory: its sockets and control socket; yours and 0700, one supervisor at a "
        "time, emptied at start (default: $XDG_RUNTIME_DIR/supervisor/NAME, else /tmp/supervisor-UID/supervisor/NAME; "
        "/run/supervisor/NAME for root)",
    )
    parser.add_argument("--log-format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve Prometheus metrics there (/metrics): units, capabilities and checks, and what the services "
        "write with prometheus_client in multiprocess mode (PROMETHEUS_MULTIPROC_DIR is set for them)",
    )


def run(args) -> int:
    loaded = load_for_command(args.graph, args.profile)
    graph = loaded.graph
    findings = list(loaded.findings)
    if graph is not None:
        unknown = [name for name in args.disable if name not in graph.services]
        if unknown:
            raise UsageError(f"--disable {unknown[0]}: no such service in {graph.file}")
        if args.runtime_dir:
            private = runtime_dir = Path(args.runtime_dir)
        else:
            private, runtime_dir = default_runtime_dir(graph.name)
        variant = selected(graph, args.profile, args.disable)
        plan, errors = checked_plan(graph, variant, os.environ, absolute(private, runtime_dir))
        findings += errors
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors or graph is None:
        render("text", error_console(), errors, {loaded.source.file: loaded.source})
        return EX_CONFIG
    try:
        return run_graph(plan, make_private(private, runtime_dir), Log(args.log_format), args.metrics)
    except (RuntimeDirError, MetricsError) as error:
        raise UsageError(str(error)) from None
