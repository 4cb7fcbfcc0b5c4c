"""What several commands share: their common arguments, loading a graph for them, and failing.

A command that cannot go on raises :class:`UsageError` (exit 2, one line on stderr) or
:class:`Unloadable` (exit 1, the file's syntax or schema findings on stderr), and
:func:`supervisor.cli.main` reports either, so a command opens with the one line that loads what
it needs.
"""

import attrs

from supervisor.cli.errors import CommandError, UsageError
from supervisor.cli.output import error_console
from supervisor.graph.loader import GraphFileError, Loaded, load_file
from supervisor.graph.model import Graph
from supervisor.views.findings import render


@attrs.frozen
class Unloadable(CommandError):
    """The command needs a graph, and ``loaded`` is not one: exit 1 with its findings."""

    loaded: Loaded

    def report(self) -> int:
        """Why the file is not a graph: its syntax/schema findings, on stderr so stdout stays
        parseable; 1, the status of a failed check."""
        render("text", error_console(), self.loaded.findings, {self.loaded.source.file: self.loaded.source})
        return 1


def add_graph_arguments(
    parser, profile_help: str, formats: tuple[str, ...] = (), default: str = "text"
) -> None:
    """GRAPH and ``--profile P``, as the commands that take one graph and one of its variants
    (``graph``, ``explain``, ``run``) take them; ``--format`` too when it prints in ``formats``."""
    parser.add_argument("graph", metavar="GRAPH", help="graph file (TOML)")
    parser.add_argument("--profile", metavar="P", help=profile_help)
    if formats:
        add_format_option(parser, formats, default)


def add_format_option(parser, formats: tuple[str, ...], default: str) -> None:
    parser.add_argument(
        "--format", choices=formats, default=default, help=f"output format (default: {default})"
    )


def load_for_command(path: str, profile: str | None = None) -> Loaded:
    """Load ``path``; UsageError if it cannot be read, or if it loads but has no ``profile``."""
    try:
        loaded = load_file(path)
    except GraphFileError as error:
        raise UsageError(str(error)) from None
    check_profile(loaded, profile)
    return loaded


def check_profile(loaded: Loaded, profile: str | None) -> None:
    """UsageError if ``loaded`` is a graph without ``profile``."""
    if profile is not None and loaded.graph is not None and profile not in loaded.graph.profiles:
        known = ", ".join(loaded.graph.profiles) or "none"
        raise UsageError(f"{loaded.source.file}: no profile {profile!r} (profiles: {known})")


def graph_for_command(path: str, profile: str | None = None) -> Graph:
    """The graph at ``path``, for commands that need one; Unloadable if the file is not a graph."""
    loaded = load_for_command(path, profile)
    if loaded.graph is None:
        raise Unloadable(loaded)
    return loaded.graph
