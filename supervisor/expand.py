"""``${VAR}`` and ``${VAR:-default}`` expansion of graph settings.

Expansion is a pure function of the text and a mapping, so the linter can check references
without touching the environment, and the runtime expands with ``os.environ`` plus the built-in
``RUNTIME_DIR`` and ``GRAPH_DIR``.
"""

import re
from collections.abc import Mapping

BUILTIN_VARIABLES = ("RUNTIME_DIR", "GRAPH_DIR")

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$")
_ANY_BRACE = re.compile(r"\$\{[^}]*\}?")


class ExpansionError(ValueError):
    """A reference that cannot be expanded: an unset variable with no default, or bad syntax."""


def references(text: str) -> list[tuple[str, str | None]]:
    """The ``(name, default)`` pairs that ``text`` refers to, in order."""
    return [(m.group(1), m.group(2)) for m in _REFERENCE.finditer(text) if m.group(0) != "$$"]


def malformed_reference(text: str) -> str | None:
    """The first ``${...}`` in ``text`` that is not a valid reference, if any."""
    if "${" not in text:
        return None  # the common case, and removing references or $$ cannot make a "${"
    stripped = _REFERENCE.sub("", text)
    found = _ANY_BRACE.search(stripped)
    return found.group(0) if found else None


def expand(text: str, variables: Mapping[str, str]) -> str:
    """Replace every reference in ``text``; ``$$`` stands for a literal ``$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        value = variables.get(name)
        if value is not None and (value != "" or default is None):
            return value
        if default is not None:
            return default
        raise ExpansionError(
            f"${{{name}}} is not set: set {name} in the environment or write ${{{name}:-default}}"
        )

    bad = malformed_reference(text)
    if bad is not None:
        raise ExpansionError(f"{bad!r} is not a valid reference: write ${{NAME}} or ${{NAME:-default}}")
    return _REFERENCE.sub(replace, text)
