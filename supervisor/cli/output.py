"""Consoles for all terminal output (rich): colour only when the stream is a terminal."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded when a console is made: lint's JSON, SARIF and GitHub output need none
    from rich.console import Console


def console(stream=None) -> "Console":
    """A console on ``stream`` (stdout by default); rich turns colour off when it is not a tty.

    No emoji codes: what it prints quotes graphs and names, in which ``:smile:`` is text."""
    from rich.console import Console

    return Console(file=stream or sys.stdout, soft_wrap=True, highlight=False, emoji=False)


def error_console() -> "Console":
    return console(sys.stderr)
