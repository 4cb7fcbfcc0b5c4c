"""Finding the running supervisor a command talks to, and talking to it.

The control socket is, in this order: ``--control PATH``; ``$SUPERVISOR_CONTROL``; the default
runtime directory of ``--graph NAME`` (or of the graph that FILE names); else, under the
default runtime base, the one supervisor that answers. When several answer, the command lists
them and asks which; when none does, it exits 3 (``NoSupervisor``), which health probes read
as "not running".
"""

import os
import socket
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from supervisor.cli.errors import NoSupervisor, UsageError
from supervisor.runtime import client

T = TypeVar("T")
TIMEOUT = 30.0
_PROBE = 2.0
"""How long a supervisor found by looking may take to accept a connection."""


def runtime_base() -> Path:
    """Where ``supervisor run`` puts a graph's runtime directory unless told otherwise."""
    from supervisor.runtime.rundir import default_runtime_dir  # only when looking: probes skip it

    return default_runtime_dir("-")[1].parent


class _Base:
    """The runtime base in ``--help``, found only when help is shown."""

    def __str__(self) -> str:
        return str(runtime_base())


def add_control_options(parser) -> None:
    control = parser.add_argument(
        "--control",
        metavar="PATH",
        help="the supervisor's control socket (default: $SUPERVISOR_CONTROL, else the one of --graph, "
        "else the only supervisor running under %(base)s)",
    )
    graph = parser.add_argument(
        "--graph",
        metavar="NAME|FILE",
        help="the supervisor running this graph (a graph file, or its name): %(base)s/NAME/control.sock",
    )
    control.base = graph.base = _Base()  # argparse fills %(base)s from the action's attributes


def control_path(args) -> str:
    if args.control or os.environ.get("SUPERVISOR_CONTROL"):
        return args.control or os.environ["SUPERVISOR_CONTROL"]
    base = runtime_base()
    if args.graph:
        return str(base / _graph_name(args.graph) / "control.sock")
    running = [path for path in sorted(base.glob("*/control.sock")) if _answers(path)]
    if not running:
        raise NoSupervisor(
            f"no supervisor is running under {base}: name its socket with --control PATH "
            "(or SUPERVISOR_CONTROL), or its graph with --graph NAME"
        )
    if len(running) > 1:
        names = ", ".join(path.parent.name for path in running)
        raise UsageError(
            f"{len(running)} supervisors are running under {base} ({names}): pick one with --graph NAME"
        )
    return str(running[0])


def _graph_name(graph: str) -> str:
    """NAME as it is, or the name of the graph in FILE (its ``name``, else the file's name)."""
    if os.sep not in graph and not graph.endswith(".toml"):
        return graph
    from supervisor.cli.common import graph_for_command

    return graph_for_command(graph).name


def _answers(path: Path) -> bool:
    """Whether a supervisor accepts connections on ``path`` (a stale socket refuses them)."""
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(_PROBE)
            sock.connect(str(path))
    except OSError:
        return False
    return True


def ask(args, message: dict, timeout: float = TIMEOUT) -> dict:
    """The supervisor's answer to ``message``; NoSupervisor if none answers, UsageError if it
    says the request is wrong."""
    path = control_path(args)
    try:
        return client.request(path, message, timeout)
    except client.Unreachable as error:
        raise NoSupervisor(str(error)) from None
    except client.ControlError as error:
        raise UsageError(str(error)) from None


def parsed(parse: Callable[[dict], T], messages: Iterable[dict]) -> Iterator[T]:
    """Each message read into its record; one this client cannot read (a supervisor of another
    version) is a one-line UsageError, not a traceback."""
    for message in messages:
        try:
            record = parse(message)
        except (KeyError, ValueError, TypeError) as error:
            raise UsageError(
                f"cannot read the supervisor's answer ({error!r}): is it another version of graph-supervisor?"
            ) from None
        yield record


def follow(args, message: dict) -> Iterator[dict]:
    """A watch: its answer, then every update until the supervisor goes away (NoSupervisor)."""
    path = control_path(args)
    try:
        yield from client.watch(path, message, TIMEOUT)
    except client.Unreachable as error:
        raise NoSupervisor(str(error)) from None
    except client.ControlError as error:
        raise UsageError(str(error)) from None
