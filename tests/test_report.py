"""Every output format of ``supervisor lint``: text, json, sarif, github."""

import gc
import io
import json
import os
import re
import subprocess
import sys

import jsonschema

from examples.demo.stack import GRAPHS, ROOT

INCIDENT = str(GRAPHS / "incident-2026-02-26.toml")

# The parts of the SARIF 2.1.0 schema that code-scanning uploads rely on (GitHub rejects a log
# that breaks them): version, runs, tool.driver with named rules, results with rule ids, levels,
# messages and physical locations with 1-based regions.
SARIF_STRUCTURE = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "format": "uri"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string", "minLength": 1},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": {
                                                    "type": "object",
                                                    "required": ["text"],
                                                },
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {
                                                        "level": {
                                                            "enum": ["none", "note", "warning", "error"]
                                                        }
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "message", "locations", "level"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {"type": "object", "required": ["text"]},
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine"],
                                                        "properties": {
                                                            "startLine": {"type": "integer", "minimum": 1},
                                                            "startColumn": {"type": "integer", "minimum": 1},
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_json_format_has_the_documented_shape(cli):
    status, out, _ = cli("lint", "--format", "json", INCIDENT)
    assert status == 1
    report = json.loads(out)
    keys = {"rule", "severity", "profile", "service", "capability", "message", "file", "line", "column"}
    assert all(set(finding) == keys for finding in report["findings"])
    assert report["summary"] == {"files": 1, "errors": 3, "warnings": 1, "info": 0}
    missing = next(f for f in report["findings"] if f["rule"] == "missing-provider")
    assert (missing["service"], missing["capability"], missing["profile"]) == (
        "ssh-proxy",
        "ssh-identity-keys",
        "cli-ssh",
    )


def test_lint_gives_the_garbage_collector_back(cli):
    """lint pauses the cyclic collector while it runs; a caller in the same process (these tests)
    gets it back, running, whether lint passed, failed or could not read its file."""
    assert gc.isenabled()
    assert cli("lint", INCIDENT)[0] == 1
    assert gc.isenabled()
    assert cli("lint", "/nonexistent/graph.toml")[0] == 2
    assert gc.isenabled()


def test_sarif_format_is_valid_sarif(cli):
    status, out, _ = cli("lint", "--format", "sarif", INCIDENT)
    assert status == 1
    log = json.loads(out)
    jsonschema.validate(log, SARIF_STRUCTURE)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {
        "missing-provider": "error",
        "optional-provider": "error",
        "offer-unavailable": "error",
        "coupled-provider": "warning",
    }
    region = next(r for r in run["results"] if r["ruleId"] == "missing-provider")["locations"][0][
        "physicalLocation"
    ]["region"]
    assert region == {"startLine": 35, "startColumn": 26}


def test_sarif_of_a_clean_graph_has_no_results(cli):
    status, out, _ = cli("lint", "--format", "sarif", str(GRAPHS / "device-proxy.toml"))
    assert status == 0
    log = json.loads(out)
    jsonschema.validate(log, SARIF_STRUCTURE)
    assert log["runs"][0]["results"] == []


def test_github_format_annotates_file_and_line(cli):
    status, out, _ = cli("lint", "--format", "github", INCIDENT)
    assert status == 1
    lines = out.splitlines()
    assert len(lines) == 4
    missing = next(line for line in lines if "missing-provider" in line)
    assert missing.startswith(
        f"::error file={INCIDENT},line=35,col=26,title=missing-provider (profile cli-ssh)::"
    )
    assert any(line.startswith("::warning ") and "coupled-provider" in line for line in lines)


def test_github_escapes_newlines_and_property_separators():
    from supervisor.check.findings import Finding
    from supervisor.check.lint import cycle
    from supervisor.graph.source import Location
    from supervisor.views.findings import render_github

    finding = Finding(cycle, "a\nb%c", Location("dir,x/f:1.toml", 3, 4))
    assert render_github([finding]) == (
        "::error file=dir%2Cx/f%3A1.toml,line=3,col=4,title=cycle (the base graph)::a%0Ab%25c"
    )


def test_text_format_groups_by_file_shows_source_and_caret(cli):
    status, out, _ = cli("lint", INCIDENT)
    assert status == 1
    lines = out.splitlines()
    assert lines[0] == INCIDENT
    source_line = next(i for i, line in enumerate(lines) if line.strip().startswith("35 | requires"))
    caret_line = lines[source_line + 1]
    assert caret_line.index("^") == lines[source_line].index('"ssh-identity-keys"')
    assert lines[-1] == "3 error(s), 1 warning(s), 0 info in 1 file"
    assert "\x1b[" not in out


def test_json_is_laid_out_as_json_dumps_with_an_indent_lays_it_out():
    """render_json writes the findings with the C encoder and lays them out itself: the same
    bytes as json.dumps(indent=2), whatever their strings hold."""
    from supervisor.check.findings import Finding
    from supervisor.check.lint import cycle, not_optional
    from supervisor.graph.source import Location
    from supervisor.views.findings import render_json, summary

    odd = ['a\nb "c" \\', '},\n      {"rule": 1}', "é ✓ \u2028 \x00", "", "}, {"]
    findings = [
        Finding(rule, message, Location(file, line, line * 2), service=message or None)
        for line, (rule, message, file) in enumerate(
            [(cycle, text, "g.toml") for text in odd] + [(not_optional, "plain", "dir,x/ü.toml")], start=1
        )
    ]
    for some in (findings, findings[:1], []):
        expected = {"findings": [f.to_json() for f in some], "summary": summary(some, 2)}
        assert "".join(render_json(some, 2)) == json.dumps(expected, indent=2)


def test_text_without_colour_is_the_text_rich_colours(tmp_path):
    """Without colour, findings rich would print unchanged are written as they are; the others
    (control characters) go through rich: either way the text is the coloured output's, without
    its colours. A graph's own text is shown as written, with or without colour: rich reads no
    markup, escapes or emoji codes in it."""
    from rich.console import Console

    from supervisor.check.lint import lint
    from supervisor.graph.loader import load_file
    from supervisor.runtime.prepare import check_context
    from supervisor.views.findings import render_text

    odd = tmp_path / "odd.toml"
    odd.write_text(
        'version = 1\n[services.a]\ncommand = ["nope-a", "\\\\"]\nprovides = ["x"]\n'
        '[services.b]\ncommand = ["nope:smile:", ":thumbs_up:"]\n\trequires = ["x", "yy"]\n'
        '[services.c]\ncommand = "[bold]nope ü \\t tab"\nrequires = ["zz"] # [red]x[/] :smile:\n'
        '[services.d]\ncommand = ["tab\\there", "bell\\u0007"]\n'
    )
    for path in (INCIDENT, str(odd)):
        loaded = load_file(path)
        context = check_context(loaded.graph, {}, tmp_path, loaded.graph.services.values())
        findings = lint(loaded.graph, context=context)
        assert len(findings) >= 4
        outputs = []
        for colour in (None, "truecolor"):
            console = Console(file=io.StringIO(), soft_wrap=True, highlight=False, color_system=colour)
            render_text(console, findings, {path: loaded.source})
            outputs.append(console.file.getvalue())
        plain, coloured = outputs
        assert "\x1b[" not in plain and "\x1b[" in coloured
        assert plain == re.sub(r"\x1b\[[0-9;]*m", "", coloured)
    for written in (
        '"nope:smile:", ":thumbs_up:"]',
        "runs nope:smile: :thumbs_up:,",
        "# [red]x[/] :smile:",
        '"\\\\"]',
    ):
        assert written in plain
    assert "\N{SMILING FACE WITH OPEN MOUTH AND SMILING EYES}" not in plain + coloured


def test_coloured_text_is_what_rich_prints(tmp_path):
    """Coloured findings are written without rich's rendering (seconds for 19,000 findings), each
    piece between the codes rich writes around its style: byte for byte what rich prints, on
    every colour system and with NO_COLOR."""
    from rich.console import Console
    from rich.text import Text

    from supervisor.check.lint import lint
    from supervisor.graph.loader import load_file
    from supervisor.runtime.prepare import check_context
    from supervisor.views import findings as view

    loaded = load_file(INCIDENT)
    context = check_context(loaded.graph, {}, tmp_path, loaded.graph.services.values())
    findings = lint(loaded.graph, context=context)
    severities = {finding.severity for finding in findings}
    assert len(severities) >= 2
    for colour in ("standard", "256", "truecolor"):
        for no_color in (False, True):
            settings = {"soft_wrap": True, "highlight": False, "color_system": colour, "no_color": no_color}
            ours, theirs = (Console(file=io.StringIO(), **settings) for _ in range(2))
            view.render_text(ours, findings, {INCIDENT: loaded.source})
            theirs.print(Text(INCIDENT, style="bold underline"))
            for finding in findings:
                for line in view._lines(view._finding_pieces(finding, loaded.source)):
                    theirs.print(Text.assemble(*line))
            written, printed = ours.file.getvalue(), theirs.file.getvalue()
            assert "\x1b[" in written
            assert written.startswith(printed), (colour, no_color)


def test_text_format_is_coloured_only_on_a_terminal():
    primary, secondary = os.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200"}
    env.pop("NO_COLOR", None)
    process = subprocess.run(
        [sys.executable, "-m", "supervisor", "lint", INCIDENT],
        stdout=secondary,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    output = b"".join(chunks).decode()
    assert process.returncode == 1
    assert "\x1b[" in output and "missing-provider" in output


def test_strict_fails_on_warnings_only_then(write_graph, cli):
    path = write_graph(
        'version = 1\n[services.a]\ncommand = "a"\nprovides = ["x"]\n[services.b]\ncommand = "b"\nrequires = ["x"]\n'
    )
    assert cli("lint", path)[0] == 0
    assert cli("lint", "--strict", path)[0] == 1


def test_a_finding_is_headed_by_the_variant_it_holds_in(cli):
    """optional-provider holds with web-terminal switched off, not in the base graph as it is."""
    _, out, _ = cli("lint", INCIDENT)
    heading = next(line for line in out.splitlines() if "optional-provider" in line)
    assert heading.endswith("error optional-provider (the base graph with web-terminal switched off)")
    _, out, _ = cli("lint", "--format", "github", INCIDENT)
    annotation = next(line for line in out.splitlines() if "optional-provider" in line)
    assert ",title=optional-provider (the base graph with web-terminal switched off)::" in annotation


def test_run_heads_its_findings_with_the_variant_it_runs(cli, tmp_path):
    status, _, err = cli("run", INCIDENT, "--disable", "web-terminal", "--runtime-dir", str(tmp_path / "rt"))
    assert status == 78
    lines = err.splitlines()
    index = next(i for i, line in enumerate(lines) if "missing-provider" in line)
    assert lines[index].endswith("error missing-provider (the base graph with web-terminal switched off)")
    assert lines[index + 1].strip().startswith("in the base graph with web-terminal switched off, ssh-proxy")
    assert not (tmp_path / "rt").exists()  # refused before anything was set up


def test_lint_reads_a_graph_from_standard_input(tmp_path):
    """``supervisor lint -``: a generated graph piped in, reported as <stdin>, beside a file."""
    other = tmp_path / "other.toml"
    other.write_text('version = 1\n[services.b]\ncommand = "true"\n')
    graph = b'version = 1\n[services.a]\ncommand = "true"\nrequires = ["x"]\n'
    result = subprocess.run(
        [sys.executable, "-m", "supervisor", "lint", "--format", "json", str(other), "-"],
        input=graph,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["file"], f["rule"], f["line"]) for f in findings] == [("<stdin>", "missing-provider", 4)]
    twice = subprocess.run(
        [sys.executable, "-m", "supervisor", "lint", "-", "-"], input=graph, capture_output=True, cwd=ROOT, timeout=60
    )
    assert twice.returncode == 2 and b"standard input (-) can be read once" in twice.stderr
