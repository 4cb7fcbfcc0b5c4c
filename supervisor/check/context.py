"""What the checks know of where a graph runs, beyond the graph itself.

The graph alone cannot say whether ``${PORT}`` is set or whether ``ssh-agent`` is installed: that
depends on the machine and the environment it runs with. The command line finds out (it may do
I/O; this package does none) and hands the answers to lint as a value: ``lint`` with what CI
was told (``--set``, ``--env-file``) and the programs of the machine it runs on, ``run`` with
its own environment and machine, where the same findings are errors (see ``Rule.at_run``).
"""

import attrs
from frozendict import frozendict

from supervisor.graph.expand import BUILT_IN, ExpansionError, expand, unset_variables


@attrs.frozen
class Context:
    """``variables``: the values ``${VAR}`` expands to, built-in ones included when known.
    ``unrunnable``: ``(service, path of a setting)`` -> why that service's commands cannot run on
    the machine because of that setting (a program, a working_dir, a user); empty when nobody
    looked (lint of a graph alone)."""

    variables: frozendict[str, str] = attrs.field(factory=frozendict, converter=frozendict)
    unrunnable: frozendict[tuple[str, tuple[str | int, ...]], str] = attrs.field(
        factory=frozendict, converter=frozendict
    )

    def unset(self, text: str) -> list[str]:
        """The variables ``text`` needs that have no value here and no default (built-in ones
        are always set when the graph runs)."""
        return [name for name in unset_variables(text, self.variables) if name not in BUILT_IN]

    def expand(self, text: str) -> str | None:
        """``text`` expanded with the values known here, or None when one is missing."""
        try:
            return expand(text, self.variables)
        except ExpansionError:
            return None
