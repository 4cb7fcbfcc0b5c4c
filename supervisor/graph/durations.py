"""Durations as graph files write them: ``"250ms"``, ``"10s"``, ``"2m"``, ``"1h30m"``.

Strings with units keep graph files readable; a bare number would leave the reader guessing
whether it means seconds or milliseconds.
"""

import functools
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
PATTERN = r"^(\d+(\.\d+)?(ms|s|m|h))+$"
"""The one definition of a duration's text: the loader parses with it and the published JSON Schema
carries it, so a value one accepts the other does too (no spaces: ``" 10s"`` is refused by both)."""
_WHOLE = re.compile(PATTERN)


# Cached because a large graph repeats the same few durations (defaults, probe intervals).
@functools.lru_cache(maxsize=1024)
def parse_duration(text: str) -> float:
    """Return the duration in seconds, or raise ValueError with a message that says what to write."""
    if not _WHOLE.fullmatch(text):
        raise ValueError(
            f'{text!r} is not a duration: write a number with a unit and no spaces, such as "250ms", "10s", "2m" or "1h"'
        )
    return sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(text))


def format_duration(seconds: float) -> str:
    """The inverse of :func:`parse_duration`, for messages and views (to the millisecond)."""
    milliseconds = round(seconds * 1000)
    if milliseconds < 1000:
        return f"{milliseconds}ms"
    seconds = milliseconds / 1000
    if seconds < 60 or seconds % 60:
        return f"{seconds:g}s"
    if seconds < 3600 or seconds % 3600:
        return f"{seconds / 60:g}m"
    return f"{seconds / 3600:g}h"
