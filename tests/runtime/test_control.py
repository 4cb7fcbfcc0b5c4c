"""The control socket and the status/start/stop/restart/shutdown commands."""

import io
import json
import os
import socket
import stat
import subprocess
import sys
import threading

from examples.demo.stack import ROOT, wait_until
from supervisor.check.analysis import Variant
from supervisor.check.plan import Plan
from supervisor.graph.loader import load_bytes
from supervisor.runtime.core import Runtime
from supervisor.runtime.log import Log
from supervisor.runtime.main import run_graph

GRAPH = """
version = 1
[services.provider]
command = ["sleep", "60"]
provides = ["p"]
stop_timeout = "2s"
[services.user]
command = ["sleep", "60"]
requires = ["p"]
[services.job]
kind = "oneshot"
command = ["true"]
"""


def test_status_json_shape_and_table(supervisor):
    sup = supervisor(GRAPH)
    sup.wait_event("user", "ready")
    sup.wait_event("job", "done")
    assert stat.S_IMODE(os.stat(sup.control).st_mode) == 0o600
    status = sup.status()
    for unit in status["services"]:
        assert {"name", "replica", "kind", "state", "pid", "restarts", "last_exit", "since", "reason"} <= set(
            unit
        )
    for capability in status["capabilities"]:
        assert {"name", "state", "provider", "last_check"} <= set(capability)
    states = {u["name"]: u["state"] for u in status["services"]}
    assert states == {"provider": "ready", "user": "ready", "job": "done"}
    (capability,) = status["capabilities"]
    del capability["since"]
    assert capability == {
        "name": "p",
        "state": "available",
        "provider": "provider",
        "providers": ["provider"],
        "consumers": ["user"],
        "last_check": None,
    }
    table = sup.ctl("status")
    assert table.returncode == 0 and "provider" in table.stdout and "ready" in table.stdout
    env_status = subprocess.run(  # SUPERVISOR_CONTROL is the other way to name the socket
        [sys.executable, "-m", "supervisor", "status", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SUPERVISOR_CONTROL": sup.control},
    )
    assert json.loads(env_status.stdout)["graph"] == "graph"
    assert sup.stop() == 0


def test_stop_marks_dependents_degraded_and_start_recovers(supervisor):
    sup = supervisor(GRAPH)
    sup.wait_event("user", "ready")
    result = sup.ctl("stop", "provider")
    assert result.returncode == 0, result.stderr
    assert sup.unit_status("provider")["state"] == "stopped"
    assert sup.unit_status("provider")["reason"] == "stopped by request"
    assert sup.unit_status("user")["state"] == "degraded"
    assert (
        sup.unit_status("user")["reason"] == "requires p (unavailable): provider provider stopped by request"
    )
    assert sup.ctl("start", "provider").returncode == 0
    sup.wait_event("user", "recovered")
    old = sup.unit_status("provider")["pid"]
    assert sup.ctl("restart", "provider").returncode == 0
    sup.wait_event("provider", "ready", count=3)
    assert sup.unit_status("provider")["pid"] not in (None, old)
    assert sup.ctl("shutdown").returncode == 0
    assert sup.wait() == 0


def test_bad_requests_get_clear_errors(supervisor):
    sup = supervisor(GRAPH)
    sup.wait_event("provider", "ready")
    result = sup.ctl("stop", "nosuch")
    assert result.returncode == 2 and "no service or unit 'nosuch'" in result.stderr
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(10)
        client.connect(sup.control)
        client.sendall(b"not json\n" + json.dumps({"command": "dance"}).encode() + b"\n")
        reader = client.makefile()
        answers = [json.loads(reader.readline()) for _ in range(2)]
    assert not answers[0]["ok"] and "not a JSON object" in answers[0]["error"]
    assert answers[1] == {
        "ok": False,
        "error": "unknown command 'dance': use status, health, check, start, stop, restart, reload, shutdown, "
        "logs, events or watch",
    }
    assert sup.stop() == 0


def test_a_request_nested_too_deep_is_answered_and_the_graph_runs_on(supervisor):
    """60,000 ``[`` made json raise RecursionError, which escaped the connection's task and
    stopped the whole graph."""
    sup = supervisor(GRAPH)
    sup.wait_event("user", "ready")
    pids = {u["unit"]: u["pid"] for u in sup.status()["services"]}
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(10)
        client.connect(sup.control)
        client.sendall(b"[" * 60000 + b"\n" + json.dumps({"command": "status"}).encode() + b"\n")
        reader = client.makefile("rb")
        deep, status = json.loads(reader.readline()), json.loads(reader.readline())
    assert deep == {"ok": False, "error": deep["error"]} and "recursion" in deep["error"]
    assert status["ok"] and status["status"]["pid"] == sup.process.pid
    assert sup.process.poll() is None
    assert {u["unit"]: u["pid"] for u in sup.status()["services"]} == pids
    assert sup.stop() == 0


def test_any_exception_while_answering_is_that_requests_error(tmp_path, monkeypatch):
    """By construction, not by exception type: a fault no request can cause today (status
    raising) is answered as an internal error and logged; the connection, the other requests
    and the graph go on. The real runtime, in this process, so the fault can be injected."""

    def broken(self):
        raise LookupError("injected fault")

    monkeypatch.setattr(Runtime, "status", broken)
    graph = load_bytes(b'version = 1\n[services.s]\ncommand = ["sleep", "60"]\n', str(tmp_path / "g.toml"))
    runtime_dir = tmp_path / "rt"
    runtime_dir.mkdir(mode=0o700)
    answers = []

    def client() -> None:
        path = runtime_dir / "control.sock"
        wait_until(path.exists, what="the control socket")
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(str(path))
            reader = sock.makefile("rb")
            for request in (
                {"command": "status"},
                {"command": "stop", "target": "nosuch"},
                {"command": "shutdown"},
            ):
                sock.sendall(json.dumps(request).encode() + b"\n")
                answers.append(json.loads(reader.readline()))

    thread = threading.Thread(target=client)
    thread.start()
    log = io.StringIO()
    assert run_graph(Plan.compile(graph.graph, Variant()), runtime_dir, Log("json", log)) == 0
    thread.join(10)
    assert answers[0] == {"ok": False, "error": "internal error (LookupError): see the supervisor's log"}
    assert answers[1]["error"].startswith("no service or unit 'nosuch'")
    assert answers[2] == {"ok": True}
    errors = [r for r in map(json.loads, log.getvalue().splitlines()) if r.get("event") == "error"]
    assert [r["message"] for r in errors] == ["control request failed: LookupError('injected fault')"]


def test_no_supervisor_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "supervisor", "status"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SUPERVISOR_CONTROL": str(tmp_path / "none.sock")},
    )
    assert result.returncode == 3 and "no control socket" in result.stderr  # 3: none answers


def test_status_names_a_real_time_signal_that_killed_a_unit(supervisor):
    """A real-time signal has no name in ``signal.Signals``: status must still answer (it used to
    raise ValueError and take the supervisor down), naming it as ``kill -l`` does."""
    sup = supervisor("""
    version = 1
    [services.rt]
    kind = "oneshot"
    command = ["python3", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGRTMIN + 1)"]
    restart = "never"
    [services.other]
    command = ["sleep", "60"]
    """)
    assert sup.wait_event("rt", "failed")["message"] == "killed by SIGRTMIN+1"
    assert sup.unit_status("rt")["last_exit"] == {"code": None, "signal": "SIGRTMIN+1"}
    table = sup.ctl("status")
    assert table.returncode == 1 and "SIGRTMIN+1" in table.stdout, table.stderr  # 1: rt failed
    assert sup.unit_status("other")["state"] == "ready"
    assert sup.stop() == 0
