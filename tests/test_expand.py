"""``${VAR}`` expansion: defaults, nested defaults, ``$$``, and what a text needs that is unset."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.graph import expand as expand_module
from supervisor.graph.expand import ExpansionError, expand, malformed_reference, unset_variables

VALUES = {"A": "a", "EMPTY": "", "B": "b"}


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("plain", "plain"),
        ("${A}/x", "a/x"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY}", ""),
        ("$$A costs $$5", "$A costs $5"),
        ("$HOME stays", "$HOME stays"),
        ("${UNSET:-${B}}", "b"),
        ("${A:-${UNSET}}", "a"),
        ("${UNSET:-${ALSO_UNSET:-deep}}/x}", "deep/x}"),
        ("${UNSET:-pre-${B}-post}", "pre-b-post"),
        ("${UNSET:-}", ""),
    ],
)
def test_expand(text, expanded):
    assert malformed_reference(text) is None
    assert expand(text, VALUES) == expanded


def test_a_nested_default_is_expanded_not_kept_as_text():
    """``${A:-${B}}`` once became the literal ``${B}`` followed by a stray brace."""
    assert expand("${PORT:-${DEFAULT_PORT}}", {"DEFAULT_PORT": "8080"}) == "8080"


@pytest.mark.parametrize(
    ("text", "bad"),
    [("${A", "${A"), ("${1A}", "${1A}"), ("${A:-${B}", "${A:-${B}"), ("x ${A-b} y", "${A-b}"), ("${}", "${}")],
)
def test_malformed_references_are_named(text, bad):
    assert malformed_reference(text) == bad
    with pytest.raises(ExpansionError, match="is not a valid reference"):
        expand(text, VALUES)


def test_unset_variables_are_those_the_text_needs():
    assert unset_variables("${X}-${A}-${Y:-y}-${Z:-${W}}", VALUES) == ["X", "W"]
    assert unset_variables("${A:-${W}}", VALUES) == []  # A is set: its default is not needed
    with pytest.raises(ExpansionError, match=r"\$\{X\} is not set"):
        expand("${X}", VALUES)


_PIECES = ["$", "{", "}", ":-", ":", "-", "A", "_b", "1", "x", " ", "$$", "${", "${A}", "${A:-"]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12))
def test_a_malformed_reference_is_named_whether_or_not_the_text_is_parsed(pieces):
    """Most texts are judged at a glance (references with plain defaults); that must say what
    the parser says, whose verdict expand and the runtime go by."""
    text = "".join(pieces)
    try:
        expand(text, {"A": "a", "_b": "b"})
        parsed = None
    except ExpansionError as error:
        parsed = str(error).split("'")[1] if "is not a valid reference" in str(error) else None
    assert malformed_reference(text) == parsed


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from([*_PIECES, "}", "d", "${B:-", "${B:-x}"]), min_size=1, max_size=12))
def test_a_plain_reference_is_read_as_the_parser_reads_it(pieces):
    """References whose default holds no ``$`` (nearly all) are read in one match; the parts
    must be those the parser finds a character at a time."""
    text = "".join(pieces)

    def parts_or_malformed():
        try:
            return expand_module._parse(text, 0, in_default=False)
        except expand_module._Malformed as error:
            return error.text

    shortcut = parts_or_malformed()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(expand_module, "_PLAIN_REFERENCE", re.compile(r"(?!)"))  # never matches
        assert parts_or_malformed() == shortcut
