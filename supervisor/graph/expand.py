"""``${VAR}`` and ``${VAR:-default}`` expansion of graph settings.

A default may itself hold references (``${A:-${B:-x}}``, as Docker Compose allows), so a text is
parsed into literal parts and references, once (cached), and everything else reads that parse:
the schema rejects a malformed reference when the graph loads (:func:`malformed_reference`),
lint asks which variables a text needs that have no value (:func:`unset_variables`), and the
runtime expands with the environment plus the built-in ``RUNTIME_DIR`` and ``GRAPH_DIR`` when it
launches a service (:func:`expand`). ``$$`` is a literal ``$``.
"""

import functools
import re
from collections.abc import Mapping

import attrs

BUILT_IN = ("RUNTIME_DIR", "GRAPH_DIR")
"""Variables the supervisor sets itself: every graph may use them, whatever the environment."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL = re.compile(r"\$[${]|\}")  # what the parser acts on: $$, ${ and a closing brace
_WITHOUT_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")  # how a reference with no default is written
_PLAIN_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^$}]*))?\}")  # a default with no $ in it
_LITERAL_DOLLAR = r"\$\$|\$(?![{$])"
# Texts whose references all have plain defaults (no reference inside a default) are well formed
# at a glance: nearly all of them. The parser decides about the others.
_PLAINLY_WELL_FORMED = re.compile(
    rf"(?:[^$]|{_LITERAL_DOLLAR}|\$\{{[A-Za-z_][A-Za-z0-9_]*(?::-(?:[^$}}]|{_LITERAL_DOLLAR})*+)?\}})*+"
)


class ExpansionError(ValueError):
    """A reference that cannot be expanded: an unset variable with no default, or bad syntax."""


@attrs.frozen
class _Reference:
    name: str
    default: tuple | None  # the default's parts (str and _Reference), None when it has none


class _Malformed(Exception):
    def __init__(self, text: str) -> None:
        self.text = text


@functools.lru_cache(maxsize=65536)  # a graph of 10,000 services has tens of thousands of texts
def _parts(text: str) -> tuple:
    """``text`` as literal strings and references; _Malformed at the first bad ``${``."""
    return _parse(text, 0, in_default=False)[0]


def _parse(text: str, start: int, in_default: bool) -> tuple[tuple, int]:
    """The parts of ``text`` from ``start`` to its end, or to the ``}`` that closes a default;
    literal runs are skipped to the next ``$`` or ``}`` at once (graphs hold thousands of texts)."""
    parts: list = []
    literal: list[str] = []
    i = start
    while True:
        special = _SPECIAL.search(text, i)
        if special is None:
            literal.append(text[i:])
            i = len(text)
            break
        token = special.group()
        if token == "}" and not in_default:
            literal.append(text[i : special.end()])
            i = special.end()
            continue
        literal.append(text[i : special.start()])
        i = special.start()
        if token == "}":
            break
        if token == "$$":
            literal.append("$")
            i += 2
            continue
        if any(literal):
            parts.append("".join(literal))
        literal = []
        plain = _PLAIN_REFERENCE.match(text, i)
        if plain is not None:  # nearly every reference: no call for its default
            name, default = plain.groups()
            parts.append(_Reference(name, None if default is None else (default,) if default else ()))
            i = plain.end()
            continue
        name = _NAME.match(text, i + 2)
        after = name.end() if name else i + 2
        if name and text.startswith("}", after):
            default, end = None, after + 1
        elif name and text.startswith(":-", after):
            default, after = _parse(text, after + 2, in_default=True)
            if not text.startswith("}", after):
                raise _Malformed(text[i:])
            end = after + 1
        else:
            close = text.find("}", i)
            raise _Malformed(text[i : close + 1] if close >= 0 else text[i:])
        parts.append(_Reference(name.group(0), default))
        i = end
    if any(literal):
        parts.append("".join(literal))
    return tuple(parts), i


def malformed_reference(text: str) -> str | None:
    """The first ``${...}`` in ``text`` that is not a valid reference, if any."""
    if "${" not in text or _PLAINLY_WELL_FORMED.fullmatch(text):
        return None  # the common cases, without parsing
    try:
        _parts(text)
    except _Malformed as error:
        return error.text
    return None


def _evaluate(parts: tuple, variables: Mapping[str, str], unset: list[str]) -> str:
    """The text of ``parts``; the name of each variable needed with no value goes to ``unset``."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = variables.get(part.name)
        if value is not None and (value != "" or part.default is None):
            out.append(value)
        elif part.default is not None:
            out.append(_evaluate(part.default, variables, unset))
        else:
            unset.append(part.name)
    return "".join(out)


def unset_variables(text: str, variables: Mapping[str, str]) -> list[str]:
    """The variables ``text`` needs that have no value in ``variables`` and no default, in order
    (a default's own references count only when the default is used)."""
    if "${" not in text or not _WITHOUT_DEFAULT.search(text):
        return []  # every reference has a default: nothing can be unset (most texts, at once)
    unset: list[str] = []
    _evaluate(_parts(text), variables, unset)
    return unset


def expand(text: str, variables: Mapping[str, str]) -> str:
    """Replace every reference in ``text``; ``$$`` stands for a literal ``$``."""
    if "$" not in text:
        return text
    try:
        parts = _parts(text)
    except _Malformed as error:
        raise ExpansionError(
            f"{error.text!r} is not a valid reference: write ${{NAME}} or ${{NAME:-default}}"
        ) from None
    unset: list[str] = []
    value = _evaluate(parts, variables, unset)
    if unset:
        name = unset[0]
        raise ExpansionError(
            f"${{{name}}} is not set: set {name} in the environment or write ${{{name}:-default}}"
        )
    return value
