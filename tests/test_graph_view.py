"""``supervisor graph``: the edges a profile keeps and cuts, in every output format."""

import json
import subprocess
import sys

from supervisor.cli import main

INCIDENT = "graphs/incident-2026-02-26.toml"
FIXED = "graphs/device-proxy.toml"

# Names may hold '.', '-' and '_' and start with a digit; "end" is a Mermaid keyword.
ODD_NAMES = """
version = 1
name = "odd.names-1"

[services."1.a-b_c"]
command = ["true"]
provides = ["cap.x-y_z"]

[services.end]
command = ["true"]
requires = ["cap.x-y_z", "ghost"]
"""


def run_graph(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["graph", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_lists_edges_and_marks_the_switched_off_provider(capsys):
    status, out, _ = run_graph(capsys, INCIDENT, "--profile", "cli-ssh", "--format", "json")
    assert status == 0
    view = json.loads(out)
    nodes = {n["name"]: n for n in view["nodes"]}
    assert nodes["web-terminal"]["enabled"] is False
    assert nodes["ssh-proxy"]["startable"] is False
    edges = {(e["consumer"], e["capability"], e["provider"]): e["live"] for e in view["edges"]}
    assert edges[("ssh-proxy", "ssh-identity-keys", "web-terminal")] is False
    assert edges[("ssh-proxy", "ssh-agent", "ssh-agent")] is True
    assert view["offers"] == [{"capability": "device-ssh", "deliverable": False}]


def test_switched_off_consumers_have_no_edges(capsys):
    _, out, _ = run_graph(capsys, FIXED, "--profile", "cli-ssh", "--format", "json")
    view = json.loads(out)
    assert not [e for e in view["edges"] if e["consumer"] == "web-terminal"]
    assert {n["name"] for n in view["nodes"]} >= {"web-terminal", "key-loader"}


def test_tree_names_providers_and_flags_off_services(capsys):
    status, out, _ = run_graph(capsys, INCIDENT, "--profile", "cli-ssh")
    assert status == 0
    assert "web-terminal longrun, optional, off" in out
    assert "ssh-identity-keys ← web-terminal (off)" in out
    assert "device-ssh: NOT deliverable" in out
    assert "\x1b[" not in out  # not a tty: no colour codes


def test_dot_quotes_names_and_dashes_cut_edges(capsys):
    status, out, _ = run_graph(capsys, INCIDENT, "--profile", "cli-ssh", "--format", "dot")
    assert status == 0
    assert out.startswith('digraph "device-proxy-2026-02-26" {')
    assert '"ssh-proxy" -> "web-terminal" [label="ssh-identity-keys", style=dashed' in out


def test_odd_names_are_escaped_in_dot_and_mermaid(capsys, tmp_path):
    path = tmp_path / "odd.toml"
    path.write_text(ODD_NAMES)
    _, dot, _ = run_graph(capsys, str(path), "--format", "dot")
    assert dot.startswith('digraph "odd.names-1" {')
    assert '"end" -> "1.a-b_c" [label="cap.x-y_z"];' in dot
    assert '"end" -> "missing:ghost"' in dot
    _, mermaid, _ = run_graph(capsys, str(path), "--format", "mermaid")
    lines = [line.strip() for line in mermaid.splitlines()]
    assert lines[0] == "flowchart LR" and "```" not in mermaid  # plain, as mmdc takes it
    assert 'n1["end (longrun, cannot start)"]' in lines
    assert 'n1 -->|"cap.x-y_z"| n0' in lines
    assert 'n1 -.->|"ghost"| m0' in lines


def test_dot_output_renders_with_graphviz(tmp_path):
    """Needs Graphviz's dot: dev/setup installs the Debian package graphviz."""
    path = tmp_path / "odd.toml"
    path.write_text(ODD_NAMES)
    for graph in (INCIDENT, str(path)):
        dot = subprocess.run(
            [sys.executable, "-m", "supervisor", "graph", graph, "--format", "dot"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True).stdout
        assert "<svg" in svg


def test_mermaid_marks_off_services(capsys):
    _, out, _ = run_graph(capsys, INCIDENT, "--profile", "cli-ssh", "--format", "mermaid")
    assert 'n2["web-terminal (longrun, optional, off)"]' in out
    assert "class n2 off;" in out
    assert 'n3 -.->|"ssh-identity-keys"| n2' in out


def test_usage_errors_exit_2(capsys):
    status, _, err = run_graph(capsys, FIXED, "--profile", "nope")
    assert status == 2 and "no profile 'nope'" in err
    status, _, err = run_graph(capsys, "graphs/missing.toml")
    assert status == 2 and "graphs/missing.toml: no such file" in err


def test_a_file_that_does_not_load_exits_1_with_its_findings(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("version = 1\n[services.a\n")
    status, out, err = run_graph(capsys, str(path), "--format", "json")
    assert status == 1 and out == ""
    assert "syntax" in err and "bad.toml" in err


def test_mermaid_is_fenced_for_markdown_only_when_asked(capsys):
    _, plain, _ = run_graph(capsys, FIXED, "--format", "mermaid")
    _, markdown, _ = run_graph(capsys, FIXED, "--format", "mermaid", "--fenced")
    assert markdown == f"```mermaid\n{plain.rstrip()}\n```\n"
    status, _, err = run_graph(capsys, FIXED, "--fenced")
    assert status == 2 and "--fenced goes with --format mermaid" in err
