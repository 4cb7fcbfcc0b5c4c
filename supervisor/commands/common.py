"""What several commands share: loading graphs for a command, and usage errors."""

import sys

import attrs

from supervisor.loader import GraphFileError, Loaded, load_file
from supervisor.output import error_console
from supervisor.report import render

EXIT_USAGE = 2


@attrs.frozen
class UsageError(Exception):
    """The command was asked something impossible: exit 2 with this message."""

    message: str


def load_for_command(path: str, profile: str | None = None) -> Loaded:
    """Load ``path``; UsageError if it cannot be read, or if it loads but has no ``profile``."""
    try:
        loaded = load_file(path)
    except GraphFileError as error:
        raise UsageError(str(error)) from None
    if profile is not None and loaded.graph is not None and profile not in loaded.graph.profiles:
        known = ", ".join(loaded.graph.profiles) or "none"
        raise UsageError(f"{loaded.source.file}: no profile {profile!r} (profiles: {known})")
    return loaded


def report_usage_error(error: UsageError) -> int:
    error_console().print(f"[bold red]error:[/] {error.message}", highlight=False)
    sys.stderr.flush()
    return EXIT_USAGE


def report_unloadable(loaded: Loaded) -> int:
    """For commands that need a graph: print why ``loaded`` is not one (its syntax/schema findings,
    on stderr so stdout stays parseable) and return 1, the status of a failed check."""
    render("text", error_console(), loaded.findings, {loaded.source.file: loaded.source})
    return 1
