"""How a command that cannot go on ends: an exception that knows its exit status and message.

Kept apart from :mod:`supervisor.cli.common` and free of rich and attrs at import time, so that
the commands that only talk to a running supervisor (``status --ready`` as a health probe)
start without loading the graph reader, the views or the records.
"""

import sys

EXIT_USAGE = 2
EXIT_NO_SUPERVISOR = 3


class CommandError(Exception):
    """Raised by a command's handler; :func:`supervisor.cli.main` calls ``report``."""

    def report(self) -> int:
        """Say what went wrong on stderr and return the exit status."""
        raise NotImplementedError


class _Said(CommandError):
    """A one-line message and the exit status that goes with it."""

    status = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def report(self) -> int:
        from rich.text import Text

        from supervisor.cli.output import error_console

        # Styled text, not markup: the message quotes what it was given (a path, a value), and a
        # ``[/]`` in it would be a markup error, a traceback instead of this line.
        error_console().print(Text.assemble(("error:", "bold red"), " ", self.message))
        sys.stderr.flush()
        return self.status


class UsageError(_Said):
    """The command was asked something impossible: exit 2 with this message."""


class NoSupervisor(_Said):
    """No supervisor answers where the command looked for one: exit 3 with this message."""

    status = EXIT_NO_SUPERVISOR
