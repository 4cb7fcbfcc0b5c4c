"""What ``lint`` and ``run`` know of where a graph runs, beyond the graph: the values its ``${VAR}``s
take (``--set`` and ``--env-file`` for lint, the environment for run) and which of its commands
cannot run on this machine. Only these two commands import it (and so the machine checks).
"""

import argparse
from collections.abc import Iterable, Mapping
from pathlib import Path

from supervisor.check.context import Context
from supervisor.cli.common import UsageError
from supervisor.graph.model import Graph, Service
from supervisor.runtime.envfile import EnvFileError, read_env_file
from supervisor.runtime.launch import graph_variables
from supervisor.runtime.programs import unrunnable


def add_value_options(parser) -> None:
    """``--set NAME=VALUE`` and ``--env-file FILE``: the values ``${VAR}`` takes, as a deployment sets them."""
    parser.add_argument(
        "--env-file",
        action="append",
        default=[],
        metavar="FILE",
        help="values for ${VAR}s from a NAME=VALUE file, as a deployment sets them (repeatable)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        type=_assignment,
        metavar="NAME=VALUE",
        help="a value for ${NAME}; wins over --env-file (repeatable)",
    )


def _assignment(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def given_values(args) -> dict[str, str]:
    """The values ``--env-file`` and ``--set`` give, later ones winning; UsageError for a bad file."""
    values: dict[str, str] = {}
    for path in args.env_file:
        try:
            values.update(read_env_file(path))
        except EnvFileError as error:
            raise UsageError(f"--env-file {error}") from None
    values.update(args.set)
    return values


def check_context(
    graph: Graph, values: Mapping[str, str], runtime_dir: Path, services: Iterable[Service]
) -> Context:
    """What lint's rules know of where ``graph`` runs: ``values`` for its ``${VAR}``s, and which
    commands of ``services`` cannot run on this machine."""
    variables = graph_variables(graph.file, runtime_dir, values)
    return Context(variables=variables, unrunnable=unrunnable(services, variables))
