"""``supervisor run``: lint the selected variant, then run it; a graph with errors never starts."""

import os
from pathlib import Path

from supervisor.analysis import selected
from supervisor.commands.common import UsageError, load_for_command, report_usage_error
from supervisor.findings import Severity
from supervisor.lint import lint_plans
from supervisor.output import error_console
from supervisor.plan import Plan
from supervisor.report import render
from supervisor.runtime.log import FORMATS, Log
from supervisor.runtime.main import run_graph

EX_CONFIG = 78


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser(
        "run",
        help="run a graph: start services as their requirements become available",
        description="Lint the selected profile, then start every service as soon as what it requires is "
        "available. Exit 78 without starting anything if the graph has errors.",
    )
    parser.add_argument("graph", metavar="GRAPH", help="graph file (TOML)")
    parser.add_argument("--profile", metavar="P", help="run this profile")
    parser.add_argument(
        "--disable", action="append", default=[], metavar="SERVICE", help="switch a service off (repeatable)"
    )
    parser.add_argument(
        "--runtime-dir",
        metavar="DIR",
        help="sockets and the control socket (default: $XDG_RUNTIME_DIR/supervisor/NAME, /run/supervisor/NAME for root)",
    )
    parser.add_argument("--log-format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.set_defaults(handler=run)


def default_runtime_dir(name: str) -> Path:
    if os.geteuid() == 0:
        return Path("/run/supervisor") / name
    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/supervisor-{os.geteuid()}"
    return Path(base) / "supervisor" / name


def run(args) -> int:
    loaded = load_for_command(args.graph, args.profile)
    graph = loaded.graph
    findings = list(loaded.findings)
    if graph is not None:
        unknown = [name for name in args.disable if name not in graph.services]
        if unknown:
            raise UsageError(f"--disable {unknown[0]}: no such service in {graph.file}")
        plan = Plan.compile(graph, selected(graph, args.profile, args.disable))
        findings += lint_plans([plan])
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors or graph is None:
        render("text", error_console(), errors, {loaded.source.file: loaded.source})
        return EX_CONFIG
    runtime_dir = Path(args.runtime_dir) if args.runtime_dir else default_runtime_dir(graph.name)
    try:
        runtime_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(runtime_dir, 0o700)
    except OSError as error:
        return report_usage_error(UsageError(f"runtime dir {runtime_dir}: {error.strerror}"))
    return run_graph(plan, runtime_dir.resolve(), Log(args.log_format))
