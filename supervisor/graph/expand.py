"""``${VAR}`` and ``${VAR:-default}`` expansion of graph settings.

Expansion is a pure function of the text and a mapping: the schema rejects a malformed reference
when the graph loads (:func:`malformed_reference`), and the runtime expands with ``os.environ``
plus the built-in ``RUNTIME_DIR`` and ``GRAPH_DIR`` when it launches a service. Whether a variable
is set can only be known then, so an unset one is a launch error, not a lint finding.
"""

import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$")
_ANY_BRACE = re.compile(r"\$\{[^}]*\}?")


class ExpansionError(ValueError):
    """A reference that cannot be expanded: an unset variable with no default, or bad syntax."""


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
