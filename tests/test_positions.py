"""Positions count lines as TOML does: a line ends at a line feed alone (CRLF included)."""

import pytest

from supervisor.graph.loader import load_bytes
from supervisor.graph.source import Source


def where(source: Source, path: tuple) -> tuple[int, int]:
    location = source.locate(path)
    return location.line, location.column


@pytest.mark.parametrize("odd", ["\u2028", "\u2029", "\x85", "\u2028\u2029\x85"])
def test_unicode_line_separators_in_a_string_do_not_start_a_line(odd):
    """str.splitlines() breaks at U+2028, U+2029 and U+0085 too; TOML does not, so the keys after
    a string holding one are on the line the file has them."""
    text = (
        f'version = 1\n[services.a]\ndescription = "one{odd}two"\ncommand = "true"\n'
        f'requires = ["x", "y"]\nreplicas = 0\n'
    )
    source = Source("g.toml", text)
    assert where(source, ("services", "a", "command")) == (4, 1)
    assert where(source, ("services", "a", "requires", 1)) == (5, 18)
    assert source.line_text(4) == 'command = "true"'
    assert source.line_text(3) == f'description = "one{odd}two"'
    (finding,) = load_bytes(text.encode(), "g.toml").findings
    assert finding.rule.id == "schema" and (finding.location.line, finding.location.column) == (6, 1)


def test_crlf_lines_count_once_and_show_without_the_carriage_return():
    text = 'version = 1\r\n[services.a]\r\ncommand = "true"\r\nrequires = [\r\n  "x",\r\n  "y",\r\n]\r\nreplicas = 0\r\n'
    source = Source("g.toml", text)
    assert where(source, ("services", "a", "requires", 1)) == (6, 3)
    assert where(source, ("services", "a", "replicas")) == (8, 1)
    assert source.line_text(8) == "replicas = 0"
    assert len(source.lines) == 8
    (finding,) = load_bytes(text.encode(), "g.toml").findings
    assert (finding.location.line, finding.location.column) == (8, 1)


def test_a_syntax_error_at_the_end_points_past_the_last_line():
    """tomllib gives no position at the end of the document: the finding is after the last line
    (not after the empty one a final newline would make)."""
    (finding,) = load_bytes(b'version = 1\nname = """x\n', "g.toml").findings
    assert finding.rule.id == "syntax"
    assert (finding.location.line, finding.location.column) == (2, 12)


def test_one_line_values_with_triple_quotes_and_values_that_span_lines():
    text = (
        'a = """x""" # [\nb = [ "]", [1,\n  2], { c = [3,\n 4] } ]\n[t]\nd = \'\'\'\n[u]\ne = 1\n\'\'\'\n'
        "f = [\n  [1],\n]\ng = 2\n"
    )
    source = Source("g.toml", text)
    assert where(source, ("b",)) == (2, 1)
    assert where(source, ("b", 2, "c", 1)) == (4, 2)
    assert not source.has(("u",)) and not source.has(("e",)) and not source.has((1,))
    assert [where(source, ("t", key)) for key in "dfg"] == [(6, 1), (10, 1), (13, 1)]


@pytest.mark.parametrize(
    ("value", "in_one_go"),
    [
        ('{ exec = ["probe", "a"], interval = "10s" }', True),
        ('[1, [2, [3, [4]]], { a = "]" }, \'}\']', True),
        ('{ a = "x\\"]", b = [] } # ]', True),
        ('["a]", "b"] ]', True),
        ('{ a = """]""" }', False),
        ('{ a = """x"]""" }', False),
        ("{ a = ''']''', b = 1 }", False),
        ("{ a = [1, # ]\n 2] }", False),
        ("[[[[[[1]]]]]]", False),
        ('{ a = "unclosed }', False),
    ],
)
def test_a_value_closed_on_its_line_closes_where_tracking_its_tokens_closes_it(value, in_one_go, monkeypatch):
    """The bracket that closes a value is matched in one go when the value is closed on its line
    and holds no triple quote, and tracked token by token otherwise: both say the same."""
    from supervisor.graph import source

    text = f"k = {value}\n"
    tracked = source._tracked_close(text, 5)
    calls = []
    monkeypatch.setattr(source, "_tracked_close", lambda *args: calls.append(args) or tracked)
    assert source._matching_close(text, 5) == tracked
    assert not calls if in_one_go else calls
