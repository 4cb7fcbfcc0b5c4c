"""The fast TOML parser gives exactly tomllib's documents, and tomllib's errors.

``supervisor.graph.toml.parse`` uses toml_rs when it is installed and tomllib otherwise; lint's
results must not depend on which. Compared: every TOML file of the project, a generated bench
graph, the corners of the format (datetimes, inf and nan, big integers, unicode and dotted keys,
inline tables, arrays of tables), what TOML 1.1 allows and 1.0 does not (refused by both), and
mangled shipped graphs. Equal means equal types too (an int is not a float, a timezone is the
standard library's), and a float's sign and NaN-ness.
"""

import datetime
import math
import random
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.graph import toml
from supervisor.graph.loader import load_bytes

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from lint_scale import generate  # noqa: E402

CORPUS = sorted(
    ROOT / name
    for name in subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if name.startswith(("graphs/", "examples/", "tests/")) or "/" not in name
)


def identical(a: object, b: object) -> bool:
    """Equal, of the same types all the way down, floats to the sign (and NaN to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(identical(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        same = (math.isnan(a) and math.isnan(b)) or a == b
        return same and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, datetime.datetime | datetime.time):
        return a == b and type(a.tzinfo) is type(b.tzinfo) and a.utcoffset() == b.utcoffset()
    return a == b


def outcome(text: str) -> tuple[str, object]:
    try:
        return "document", toml.parse(text)
    except toml.TOMLDecodeError as error:
        return "error", str(error)


def reference(text: str) -> tuple[str, object]:
    try:
        return "document", tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return "error", str(error)


def same_as_tomllib(text: str) -> bool:
    ours, theirs = outcome(text), reference(text)
    return ours[0] == theirs[0] and identical(ours[1], theirs[1])


def test_the_fast_parser_is_the_one_in_use():
    """toml_rs is a dependency: were it missing, every test here would compare tomllib with itself."""
    assert toml.toml_rs is not None


def test_the_corpus_is_there():
    names = {path.relative_to(ROOT).as_posix() for path in CORPUS}
    assert {"graphs/device-proxy.toml", "graphs/incident-2026-02-26.toml", "pyproject.toml"} <= names


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_toml_file_of_the_project(path):
    text = path.read_text(encoding="utf-8")
    assert outcome(text)[0] == "document"
    assert same_as_tomllib(text)


def test_a_generated_bench_graph():
    assert same_as_tomllib(generate(300, profiles=5))


VALID = {
    "offset datetimes": "a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00.999999-07:00\n"
    "c = 1979-05-27 07:32:00+05:30\nd = 1979-05-27T07:32:00.1234567Z",
    "local datetimes, dates and times": "a = 1979-05-27T07:32:00\nb = 1979-05-27\nc = 07:32:00\n"
    "d = 00:32:00.5\ne = 2024-02-29",
    "floats": "a = inf\nb = -inf\nc = nan\nd = +inf\ne = -nan\nf = +nan\ng = 1e308\nh = 5e-324\n"
    "i = -0.0\nj = 3.14159265358979323846\nk = 1_000.5\nl = 6.626e-34\nm = 1E2",
    "integers": "a = 9223372036854775807\nb = -9223372036854775808\nc = 0xDEAD_BEEF\nd = 0o755\n"
    "e = 0b1101\nf = 1_000_000\ng = +1\nh = -0",
    "integers past 64 bits": "a = 9223372036854775808\nb = -99999999999999999999999999",
    "unicode keys and strings": '"ключ" = "значение"\n"é" = "\\u00e9\\U0001F600"\n'
    "'literal key' = 1\n\"\" = 2\n\"😀\" = \"\\\"\\\\\\b\\t\\n\\f\\r\"",
    "dotted keys": 'a.b.c = 1\na.b.d = 2\n"x.y".z = 3\n[t]\nu . v = 4\n[t.w]\nx = 5\n',
    "inline tables": "a = { x = 1, y = { z = [1, 2] } }\nb = {}\nc = { d.e = 1 }\n",
    "arrays of tables": "[[a]]\nx = 1\n[[a]]\nx = 2\n[[a.b]]\ny = 3\n[[c.d]]\n",
    "strings": 's = """\nline1\\\n   line2"""\nl = \'\'\'raw\\n\'\'\'\nm = "tab\\tq"\n'
    "n = '''\nx'''\no = \"\"\"a\"\"b\"\"\"",
    "arrays": 'a = [1, "x", 1.5, [2], {k = 1}, 1979-05-27]\nb = [\n  1,\n  2, # c\n]\nc = []\n',
    "booleans and comments": "a = true # yes\nb = false\n# end",
    "line endings": "a = 1\r\nb = [\r\n 2,\r\n]\r\n",
}


INVALID = {
    # TOML 1.1 allows these; the graph format is TOML 1.0, as tomllib reads it.
    "newline in an inline table": "a = { x = 1,\n y = 2 }\n",
    "trailing comma in an inline table": "a = { x = 1, }\n",
    "escape \\e": 'a = "\\e"\n',
    "escape \\x": 'a = "\\x41"\n',
    "time without seconds": "a = 07:32\n",
    "datetime without seconds": "a = 1979-05-27T07:32Z\n",
    # TOML 1.0 refuses these.
    "a byte order mark": "\ufeffa = 1\n",
    "a key twice": "a = 1\na = 2\n",
    "a table twice": "[a]\n[a]\n",
    "an inline table extended": "a = {x = 1}\n[a]\ny = 2\n",
    "a table extended by dotted keys": "[a.b]\nc = 1\n[a]\nb.d = 2\n",
    "an array made an array of tables": "a = [1]\n[[a]]\n",
    "a leading zero": "a = 01\n",
    "a bare fraction": "a = .5\n",
    "a control character": 'a = "x\x01"\n',
    "a DEL": 'a = "x\x7f"\n',
    "a control character in a comment": "# x\x01\n",
    "a lone carriage return": "a = 1\r",
    "an unterminated string": 'a = "x\n',
    "February 30": "a = 2021-02-30\n",
    "February 29 of a common year": "a = 2023-02-29\n",
    "hour 24": "a = 24:00:00\n",
    "a leap second": "a = 23:59:60\n",
    "a surrogate": 'a = "\\uD800"\n',
    "a key with no name": "= 1\n",
    "a NUL": "a = 1\n\x00",
}


@pytest.mark.parametrize(
    ("text", "kind"),
    [(text, "document") for text in VALID.values()] + [(text, "error") for text in INVALID.values()],
    ids=[*VALID, *INVALID],
)
def test_the_corners_of_the_format(text, kind):
    """The same document, or the same error message (so the same line and column)."""
    assert outcome(text)[0] == kind
    assert same_as_tomllib(text)


def test_a_syntax_finding_has_tomllibs_position():
    (finding,) = load_bytes(b"version = 1\nx = { a = 1,\n b = 2 }\n", "g.toml").findings
    assert finding.rule.id == "syntax"
    assert (finding.location.line, finding.location.column) == (2, 13)
    assert "Invalid initial character for a key part" in finding.message


def test_without_toml_rs_the_standard_library_parses(monkeypatch):
    text = VALID["floats"] + "\n[big]\n" + VALID["integers past 64 bits"]
    fast = toml.parse(text)
    monkeypatch.setattr(toml, "toml_rs", None)
    assert identical(toml.parse(text), fast)
    assert outcome(INVALID["escape \\e"]) == reference(INVALID["escape \\e"])


_PIECES = list("[]{}=,.\"'#\n \t\\0123456789abcdefxo+-_:TZe") + [
    '"""',
    "'''",
    "inf",
    "nan",
    "true",
    "1979-05-27",
    "07:32:00",
    "\r\n",
    "\x00",
    "\x7f",
    "é",
    "\ufeff",
    "\\u0041",
    "\\e",
]
SHIPPED = [(ROOT / "graphs" / name).read_text() for name in ("device-proxy.toml", "incident-2026-02-26.toml")]


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32), edits=st.integers(1, 4))
def test_mangled_graphs_get_the_same_document_or_the_same_error(seed, edits):
    rng = random.Random(seed)
    text = list(rng.choice(SHIPPED))
    for _ in range(edits):
        at = rng.randrange(len(text) + 1)
        choice = rng.random()
        if choice < 0.4:
            text.insert(at, rng.choice(_PIECES))
        elif at < len(text):
            if choice < 0.7:
                del text[at]
            else:
                text[at] = rng.choice(_PIECES)
    assert same_as_tomllib("".join(text))
