"""Command-line value types the services share, each an argparse ``type``: a bad value is one
line naming it (argparse's usage error, exit 2), never a traceback."""

import argparse
import math


def address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:22`` too; an empty host is every address, port 0 any free port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def finite(text: str) -> float | None:
    """``text`` as a finite number, or None: how every number of seconds the services are given
    is read (an option's, and ``DRAIN_TIMEOUT`` from the environment)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def seconds(text: str) -> float:
    """A finite number of seconds above 0."""
    value = finite(text)
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def count(text: str) -> int:
    """A whole number above 0."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0")
    return int(text)
