"""``supervisor status`` as a health check, and how it finds the supervisor by itself."""

import json
import os
import subprocess

import pytest

from examples.demo.stack import ROOT
from supervisor.cli import connect
from supervisor.runtime.client import ControlError, request
from tests.helpers.supervisor import PY

GRAPH = """
version = 1
name = "{name}"
[services.db]
command = ["sleep", "600"]
provides = ["sql"]
[services.broken]
command = ["sh", "-c", "echo 'cannot open /etc/broken.conf: no such file or directory, giving up now'; exit 3"]
provides = ["cache"]
restart = "never"
[services.web]
command = ["sleep", "600"]
requires = ["sql", "cache"]
[profiles.main]
offers = ["sql"]
"""


def status(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PY, "-m", "supervisor", "status", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "COLUMNS": "80", **(env or {})},
    )


def test_exit_status_says_whether_the_graph_is_healthy(supervisor):
    sup = supervisor(GRAPH.format(name="health"), "--profile", "main")
    sup.wait_event("broken", "failed")
    sup.wait_event("db", "ready")
    control = ("--control", sup.control)
    whole = status("--ready", *control)
    assert whole.returncode == 1
    assert whole.stdout.splitlines()[0] == "broken is failed: exit 3"
    assert (
        'web is waiting: needs cache: broken failed, last exit 3: "cannot open' in whole.stdout
    )  # root first
    assert request(sup.control, {"command": "health", "capabilities": ["sql"]}) == {
        "ok": True,
        "problems": [],
    }
    with pytest.raises(ControlError, match="capabilities must be a list of capability names"):
        request(sup.control, {"command": "health", "capabilities": "sql"})
    assert status("--ready", "sql", *control).stdout == "ready\n"
    assert status("--ready", "sql", *control).returncode == 0
    assert status("--ready", "cache", "nope", *control).stdout.splitlines() == [
        "capability cache is unavailable",
        "capability nope has no provider running here",
    ]
    table = status(*control)
    assert table.returncode == 1
    rows = [line for line in table.stdout.splitlines() if line[0] in "┏┃┡│└"]
    assert all(len(line) <= 80 for line in rows), table.stdout  # one line a unit at 80 columns
    web = next(line for line in rows if line.startswith("│ web"))
    assert "│ waiting │" in web and "│ needs cache: broken failed, " in web  # the root cause first
    assert web.rstrip(" │").endswith("…")
    assert "not healthy: broken is failed" in table.stdout
    wide = status("--wide", *control)
    assert "giving up now" in wide.stdout and "sql" in wide.stdout
    assert sup.ctl("stop", "broken").returncode == 0  # a failed unit put down on request
    assert sup.unit_status("broken")["state"] == "stopped"
    assert sup.ctl("stop", "web").returncode == 0  # stopped on request: not a problem
    assert status("--ready", *control).returncode == 0
    assert sup.stop() == 0
    gone = status("--ready", *control)
    assert gone.returncode == 3 and "no control socket" in gone.stderr


def test_status_finds_the_one_supervisor_running_or_asks_which(supervisor, tmp_path, cli, monkeypatch):
    """In-process, with the default runtime base moved to a directory of the test's own (for
    root it is /run/supervisor, which other runs on this machine share)."""
    base = tmp_path / "base"
    monkeypatch.setattr(connect, "runtime_base", lambda: base)
    monkeypatch.delenv("SUPERVISOR_CONTROL", raising=False)
    code, out, err = cli("status")
    assert code == 3 and f"no supervisor is running under {base}" in " ".join(err.split())
    first = tmp_path / "first.toml"
    first.write_text(GRAPH.format(name="first"))
    one = supervisor(first, "--runtime-dir", str(base / "first"))
    one.runtime_dir = base / "first"  # the later --runtime-dir is the one used
    one.wait_event("db", "ready")
    code, out, _ = cli("status", "--json")
    assert code == 1 and json.loads(out)["graph"] == "first"
    two = supervisor(GRAPH.format(name="second"), "--runtime-dir", str(base / "second"))
    two.runtime_dir = base / "second"
    two.wait_event("db", "ready")
    code, _, err = cli("status")
    assert code == 2 and "2 supervisors are running" in err and "(first, second)" in err
    assert json.loads(cli("status", "--json", "--graph", "second")[1])["graph"] == "second"
    assert json.loads(cli("status", "--json", "--graph", str(first))[1])["graph"] == "first"
    assert one.stop() == 0
    assert json.loads(cli("status", "--json")[1])["graph"] == "second"  # the one left
    assert two.stop() == 0


def test_status_help_says_where_it_looks():
    result = status("--help", env={"XDG_RUNTIME_DIR": "/nonexistent/xdg"})
    base = "/run/supervisor" if os.geteuid() == 0 else "/nonexistent/xdg/supervisor"
    assert f"else the only supervisor running under {base}" in " ".join(result.stdout.split())
