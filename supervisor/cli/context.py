"""The values ``lint`` gives a graph's ``${VAR}``s (``--set`` and ``--env-file``), as a deployment
sets them; what it and ``run`` then know of the machine is ``supervisor.runtime.prepare``'s
``check_context``.
"""

import argparse

from supervisor.cli.common import UsageError
from supervisor.runtime.envfile import EnvFileError, read_env_file


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
