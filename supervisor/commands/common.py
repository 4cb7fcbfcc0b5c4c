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


def load_for_command(path: str) -> Loaded:
    """Load ``path`` or raise UsageError if it cannot be read."""
    try:
        return load_file(path)
    except GraphFileError as error:
        raise UsageError(str(error)) from None


def check_profile(loaded: Loaded, profile: str | None) -> None:
    """UsageError unless ``profile`` is None or a profile of the loaded graph."""
    if profile is None or loaded.graph is None or profile in loaded.graph.profiles:
        return
    known = ", ".join(loaded.graph.profiles) or "none"
    raise UsageError(f"{loaded.source.file}: no profile {profile!r} (profiles: {known})")


def report_usage_error(error: UsageError) -> int:
    error_console().print(f"[bold red]error:[/] {error.message}", highlight=False)
    sys.stderr.flush()
    return EXIT_USAGE


def report_unloadable(loaded: Loaded) -> int:
    """For commands that need a graph: print why ``loaded`` is not one (its syntax/schema findings,
    on stderr so stdout stays parseable) and return 1, the status of a failed check."""
    render("text", error_console(), loaded.findings, {loaded.source.file: loaded.source})
    return 1
