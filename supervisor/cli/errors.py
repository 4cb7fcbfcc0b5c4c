"""How a command that cannot go on ends: an exception that knows its exit status and message.

Kept apart from :mod:`supervisor.cli.common` and free of rich at import time, so that the
commands that only talk to a running supervisor (``status --ready`` as a health probe) start
without loading the graph reader or the views.
"""

import sys

import attrs

EXIT_USAGE = 2
EXIT_NO_SUPERVISOR = 3


class CommandError(Exception):
    """Raised by a command's handler; :func:`supervisor.cli.main` calls ``report``."""

    def report(self) -> int:
        """Say what went wrong on stderr and return the exit status."""
        raise NotImplementedError


def print_error(message: str) -> None:
    from supervisor.cli.output import error_console

    error_console().print(f"[bold red]error:[/] {message}", highlight=False)
    sys.stderr.flush()


@attrs.frozen
class UsageError(CommandError):
    """The command was asked something impossible: exit 2 with this message."""

    message: str

    def report(self) -> int:
        print_error(self.message)
        return EXIT_USAGE


@attrs.frozen
class NoSupervisor(CommandError):
    """No supervisor answers where the command looked for one: exit 3 with this message."""

    message: str

    def report(self) -> int:
        print_error(self.message)
        return EXIT_NO_SUPERVISOR
