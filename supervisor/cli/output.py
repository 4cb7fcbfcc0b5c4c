"""Consoles for all terminal output (rich): colour only when the stream is a terminal."""

import sys

from rich.console import Console


def console(stream=None) -> Console:
    """A console on ``stream`` (stdout by default); rich turns colour off when it is not a tty."""
    return Console(file=stream or sys.stdout, soft_wrap=True, highlight=False)


def error_console() -> Console:
    return console(sys.stderr)
