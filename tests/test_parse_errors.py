"""Bad graph files are findings with a line and column, or usage errors: never a traceback."""

import pytest

from supervisor.graph.loader import load_bytes
from supervisor.graph.source import Source


def only(findings):
    (finding,) = findings
    return finding


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        (b"version = 1\n[services.a\n", 2, 12, "Expected ']'"),
        (b'version = 1\nname = "x\n', 2, 10, "not valid TOML"),
        (b"version = 1\nversion = 1\n", 2, 12, "not valid TOML"),
        (b'version = 1\nx = "\xff"\n', 2, 6, "not UTF-8"),
    ],
)
def test_syntax_errors_point_at_the_place(text, line, column, words):
    finding = only(load_bytes(text, "bad.toml").findings)
    assert finding.rule.id == "syntax"
    assert (finding.location.line, finding.location.column) == (line, column)
    assert words in finding.message


def test_nesting_too_deep_for_tomllib_is_a_finding_not_a_traceback():
    """tomllib recurses per level; a file nested deeper than the interpreter allows (and with a
    syntax error, so the fast parser hands it to tomllib) is one finding."""
    text = b"version = 1\na = " + b"[" * 6000 + b"]" * 6000 + b"\nb = \n"
    finding = only(load_bytes(text, "deep.toml").findings)
    assert finding.rule.id == "syntax"
    assert "nested too deeply" in finding.message and finding.location.line == 3


def test_unknown_setting_suggests_the_known_one():
    loaded = load_bytes(b'version = 1\n[services.a]\ncomand = ["true"]\n', "g.toml")
    messages = {f.message: f for f in loaded.findings}
    typo = next(f for m, f in messages.items() if "unknown setting 'comand'" in m)
    assert typo.rule.id == "schema" and "did you mean 'command'?" in typo.message
    assert (typo.location.line, typo.location.column) == (3, 1)
    missing = next(f for m, f in messages.items() if "has no 'command'" in m)
    assert missing.location.line == 2
    assert loaded.graph is None


@pytest.mark.parametrize(
    ("body", "line", "column", "words"),
    [
        ("replicas = 0", 3, 1, "services.a.replicas is 0"),
        ('ready = { tcp = "a:1", unix = "/s" }', 3, 1, "has tcp and unix: give exactly one of"),
        ('ready = { tcp = "a:1", timeout = "5 seconds" }', 3, 24, "is not a duration"),
        ('restart = "alway"', 3, 1, "did you mean 'always'?"),
        ('provides = ["x", "x"]', 3, 18, "lists 'x' twice"),
        ('requires = ["bad name"]', 3, 13, "capability names start with"),
        ('stop_signal = "TERMINATE"', 3, 1, "name a signal"),
        ('listen = ["udp:1.2.3.4:5"]', 3, 11, 'write "tcp:HOST:PORT" (a port from 0 to 65535) or "unix:PATH"'),
        ('ready = { tcp = "127.0.0.1:99999" }', 3, 11, "a port from 0 to 65535"),
        ("environment = { A = 1.5 }", 3, 17, "must be a string, an integer or a boolean, not a number (1.5)"),
        ("ready = { notify = false }", 3, 11, "must be true"),
        ("check = { notify = true }", 3, 11, "move notify = true to ready"),
        ('working_dir = "${HOME"', 3, 1, "not a reference"),
        ('env_file = ["a.env", "${HOME"]', 3, 22, "services.a.env_file[1] has '${HOME', which is not a reference"),
        ('requires = ["a", 1]', 3, 18, "services.a.requires[1] must be a string, not an integer"),
        ('kind = "daemon"', 3, 1, "'longrun', 'oneshot'"),
    ],
)
def test_schema_errors_point_at_the_key(body, line, column, words):
    text = f'version = 1\n[services.a]\n{body}\ncommand = "true"\n'.encode()
    finding = only(load_bytes(text, "g.toml").findings)
    assert finding.rule.id == "schema"
    assert words in finding.message
    assert (finding.location.line, finding.location.column) == (line, column)


def test_document_level_errors():
    findings = load_bytes(b'version = 2\nname = "has space"\n', "g.toml").findings
    messages = " | ".join(f.message for f in findings)
    assert "version is 2: it must be 1" in messages
    assert "has no 'services'" in messages
    assert "names start with a letter" in messages


def test_defaults_refuse_per_service_settings():
    text = b'version = 1\n[defaults]\nprovides = ["x"]\n[services.a]\ncommand = "true"\n'
    finding = only(load_bytes(text, "g.toml").findings)
    assert "move it into the service" in finding.message and finding.location.line == 3


def test_defaults_apply_where_a_service_is_silent():
    text = b'version = 1\n[defaults]\nstop_timeout = "3s"\n[services.a]\ncommand = "true"\n[services.b]\ncommand = "true"\nstop_timeout = "250ms"\n'
    graph = load_bytes(text, "g.toml").graph
    assert graph.services["a"].stop_timeout == 3.0
    assert graph.services["b"].stop_timeout == 0.25


def test_cli_reports_syntax_as_a_finding_and_other_files_still_lint(write_graph, lint_json):
    broken = write_graph("version = 1\n[services.a\n", "broken.toml")
    good = write_graph('version = 1\n[services.a]\ncommand = "x"\nrequires = ["nope"]\n', "good.toml")
    status, findings = lint_json(broken, good)
    assert status == 1
    assert {(f["rule"], f["file"]) for f in findings} >= {("syntax", broken), ("missing-provider", good)}


def test_unreadable_inputs_are_usage_errors(cli, tmp_path):
    status, out, err = cli("lint", str(tmp_path / "missing.toml"))
    assert status == 2 and "missing.toml: no such file" in err and "Traceback" not in err
    status, _, err = cli("lint", str(tmp_path))
    assert status == 2 and "is a directory" in err


def test_an_error_quotes_what_it_was_given_as_written(cli, tmp_path):
    """A usage error quoting a path with rich markup or an emoji code in it prints it as it is
    (a ``[/]`` in it was a markup error, a traceback instead of the message)."""
    status, _, err = cli("lint", str(tmp_path / "[/]x[bold]:smile:.toml"))
    assert status == 2 and "[/]x[bold]:smile:.toml: no such file" in err


def test_bad_flags_exit_2(capsys):
    from supervisor.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["lint", "--format", "xml", "g.toml"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_empty_file_is_a_schema_finding():
    findings = load_bytes(b"", "empty.toml").findings
    assert [(f.rule.id, f.location.line) for f in findings] == [("schema", 1), ("schema", 1)]
    assert [f.message for f in findings] == [
        "the file has no 'version': add version = …",
        "the file has no 'services': add services = …",
    ]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('exit_when = "main-ended"\n[services.a]\ncommand = "true"\n', 2, 'no service is main: add main = true'),
        ('[services.a]\ncommand = "true"\nmain = true\n', 4, 'only matters with exit_when = "main-ended"'),
        (
            'exit_when = "main-ended"\n[services.a]\ncommand = "true"\nmain = true\n[services.b]\ncommand = "true"\nmain = true\n',
            8,
            "a and b are both main: keep one",
        ),
    ],
)
def test_main_and_exit_when_go_together(text, line, words):
    finding = only(load_bytes(f"version = 1\n{text}".encode(), "g.toml").findings)
    assert finding.rule.id == "schema" and words in finding.message
    assert finding.location.line == line


def test_positions_skip_what_multi_line_values_hold():
    """Lines inside a multi-line string or array are not keys or headers, however they look (the
    first line of `a` has an even number of quotes, as a one-line value would)."""
    text = (
        'a = """say "hi\nb = 1\n[u]\n"""\nc = [\n  ["x"],\n  "y = 2",\n]\n'
        "[t]\nd = { e = [1, [2, { f = 3 }]] }  # [note\ng = ['''x''', \"]\"]\nh = 4\n"
    )
    source = Source("g.toml", text)
    assert not source.has(("b",)) and not source.has(("u",)) and not source.has(("x",))
    where = {path: (source.locate(path).line, source.locate(path).column) for path in [("c",), ("t", "h")]}
    assert where == {("c",): (5, 1), ("t", "h"): (12, 1)}
    assert (source.locate(("c", 1)).line, source.locate(("c", 1)).column) == (7, 3)
    assert (source.locate(("t", "d", "e", 1)).line, source.locate(("t", "d", "e", 1)).column) == (10, 15)
