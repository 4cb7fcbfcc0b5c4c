"""The runtime directory: private, one supervisor's at a time, and a run after ``kill -9`` comes up
(the previous run's process groups stopped, its stale sockets removed)."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from examples.demo.stack import ROOT, wait_until
from supervisor.runtime.groups import FILE as GROUPS
from supervisor.runtime.groups import GroupRecord
from supervisor.runtime.proc import all_procs, proc_stat
from supervisor.runtime.rundir import LOCK, RuntimeDirError, default_runtime_dir, make_private
from tests.helpers.net import free_port


def _graph(port: int) -> str:
    """ssh-agent, which refuses a socket path that exists, a TCP listener without SO_REUSEADDR,
    and a unit whose group has a member besides its leader."""
    return f"""
    version = 1
    [services.agent]
    command = ["ssh-agent", "-D", "-a", "${{RUNTIME_DIR}}/agent.sock"]
    provides = ["ssh-agent"]
    ready = {{ unix = "${{RUNTIME_DIR}}/agent.sock", timeout = "5s" }}
    [services.worker]
    command = ["python3", "-c", "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(600)"]
    requires = ["ssh-agent"]
    ready = {{ tcp = "127.0.0.1:{port}", timeout = "5s" }}
    [services.family]
    command = ["sh", "-c", "sleep 600 & exec sleep 601"]
    """


def _alive(pid: int) -> bool:
    stat = proc_stat(pid)
    return stat is not None and stat.alive


def _group(leader: int) -> list[int]:
    return sorted(p.pid for p in all_procs() if p.pgrp == leader and p.alive)


def _running(sup) -> dict[str, int]:
    sup.wait_event("supervisor", "started")
    ready = {"ready"}
    wait_until(lambda: {u["state"] for u in sup.status()["services"]} == ready, 15, "every unit ready")
    return {u["unit"]: u["pid"] for u in sup.status()["services"]}


def _agent_answers(sup) -> bool:
    env = {**os.environ, "SSH_AUTH_SOCK": str(sup.runtime_dir / "agent.sock")}
    result = subprocess.run(["ssh-add", "-l"], env=env, capture_output=True, text=True, timeout=10)
    return result.returncode == 1 and "no identities" in result.stdout  # 2: no agent there


def test_after_kill_9_the_next_run_stops_the_old_groups_and_comes_up(supervisor):
    port = free_port()
    first = supervisor(_graph(port))
    old = _running(first)
    family = _group(old["family"])
    assert len(family) == 2
    first.process.kill()  # SIGKILL: no chance to stop anything
    first.wait()
    left = [*old.values(), *family]
    assert all(_alive(pid) for pid in left)  # what the fix is for: they still hold the port and the agent

    second = supervisor(_graph(port))
    new = _running(second)
    assert not any(_alive(pid) for pid in left)
    assert set(new.values()).isdisjoint(left)
    stopped = {e["message"] for e in second.events("supervisor", "leftover")}
    assert stopped == {
        f"killed process group {old['agent']} ('ssh-agent'), left running by a previous run",
        f"killed process group {old['worker']} ('python3'), left running by a previous run",
        f"killed process group {old['family']} ('sleep'), left running by a previous run",
    }
    assert _agent_answers(second)
    assert second.stop() == 0


def test_after_a_crash_stale_sockets_are_removed(supervisor):
    """Everything of the previous run died (as in a container), but its sockets stayed behind:
    ssh-agent refuses to bind a path that exists, so it could never come up again."""
    first = supervisor(_graph(free_port()))
    old = _running(first)
    first.process.kill()
    first.wait()
    for pid in old.values():
        os.killpg(pid, signal.SIGKILL)
    wait_until(lambda: not any(_alive(pid) for pid in old.values()), what="the old units gone")
    assert (first.runtime_dir / "agent.sock").exists() and (first.runtime_dir / "control.sock").exists()

    second = supervisor(_graph(free_port()))
    _running(second)
    assert _agent_answers(second)
    cleaned = second.wait_event("supervisor", "cleaned")["message"]
    assert "'agent.sock'" in cleaned and "'control.sock'" in cleaned and "'groups.json'" in cleaned
    assert not second.events("supervisor", "leftover")
    assert second.stop() == 0


def test_a_second_run_of_a_running_graph_is_refused(supervisor):
    first = supervisor(_graph(free_port()))
    pids = _running(first)
    second = supervisor(_graph(free_port()))
    assert second.wait() == 2
    assert second.process.stderr.read().strip() == (
        f"error: runtime dir {first.runtime_dir} is in use by a running supervisor "
        f"(pid {first.process.pid}): stop it first (supervisor shutdown --control {first.control}) "
        "or use another --runtime-dir"
    )
    assert second.records == []
    assert _running(first) == pids  # its control socket is still its own
    assert first.ctl("shutdown").returncode == 0
    assert first.wait() == 0


def test_a_recorded_pid_now_used_by_another_process_is_left_alone(supervisor, tmp_path):
    """A pid in the record names the previous run's process only with the same start time."""
    stranger = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        runtime_dir = tmp_path / "rt"
        runtime_dir.mkdir(mode=0o700)
        (runtime_dir / LOCK).touch()  # a supervisor's directory, whose last run was killed
        GroupRecord(runtime_dir / GROUPS).add(stranger.pid)
        record = json.loads((runtime_dir / GROUPS).read_text())
        record["groups"] = [[pid, start - 1] for pid, start in record["groups"]]  # an older owner
        (runtime_dir / GROUPS).write_text(json.dumps(record))

        sup = supervisor(_graph(free_port()))
        _running(sup)
        assert stranger.poll() is None
        assert not sup.events("supervisor", "leftover")
        assert sup.stop() == 0
    finally:
        stranger.kill()
        stranger.wait()


def _run(runtime_dir, tmp_path) -> subprocess.CompletedProcess:
    graph = tmp_path / "graph.toml"
    graph.write_text(textwrap.dedent(_graph(free_port())))
    return subprocess.run(
        [sys.executable, "-m", "supervisor", "run", str(graph), "--runtime-dir", str(runtime_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_runtime_dir_of_another_user_or_open_to_others_is_refused(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    result = _run(theirs, tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        f"error: runtime dir {theirs} belongs to uid 65534, not to you (uid 0): "
        "use a directory of your own (--runtime-dir DIR)"
    )
    assert list(theirs.iterdir()) == []

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    result = _run(shared, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: runtime dir {shared} has mode 0755, not 0700: run chmod 700 {shared}"
    )
    assert oct(shared.stat().st_mode & 0o777) == "0o755" and list(shared.iterdir()) == []

    link = tmp_path / "link"
    link.symlink_to(theirs)
    result = _run(link, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: runtime dir {link} is a symbolic link: use a directory of your own"
    )


def test_a_directory_that_was_never_a_runtime_dir_is_not_emptied(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    (keys / "id_ed25519").write_text("not to be removed")
    result = _run(keys, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: runtime dir {keys} is not empty and was never a supervisor's (no {LOCK}): "
        "use a new or empty directory"
    )
    assert [p.name for p in keys.iterdir()] == ["id_ed25519"]


def test_the_tmp_fallback_is_private_from_its_top(tmp_path, monkeypatch):
    """Without XDG_RUNTIME_DIR a user's runtime dirs are under /tmp/supervisor-UID, a name anyone
    can take first: it, and every directory below it, must be the user's and 0700."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert default_runtime_dir("g") == (
        Path("/tmp/supervisor-1000"),
        Path("/tmp/supervisor-1000/supervisor/g"),
    )
    monkeypatch.undo()

    top = tmp_path / "supervisor-0"  # what default_runtime_dir gives, under a test's /tmp
    top.mkdir(mode=0o700)
    os.chown(top, 65534, 65534)  # taken first by someone else
    taken = f"runtime dir {top}/supervisor/g: {top} belongs to uid 65534"
    with pytest.raises(RuntimeDirError, match=re.escape(taken)):
        make_private(top, top / "supervisor" / "g")
    assert list(top.iterdir()) == []

    os.chown(top, 0, 0)
    top.chmod(0o777)
    with pytest.raises(RuntimeDirError, match=re.escape(f"{top} has mode 0777, not 0700")):
        make_private(top, top / "supervisor" / "g")
    assert list(top.iterdir()) == []

    top.chmod(0o700)
    (top / "supervisor").mkdir(mode=0o755)
    (top / "supervisor").chmod(0o755)
    with pytest.raises(RuntimeDirError, match=re.escape(f"{top}/supervisor has mode 0755, not 0700")):
        make_private(top, top / "supervisor" / "g")

    (top / "supervisor").chmod(0o700)
    made = make_private(top, top / "supervisor" / "g")
    assert made == top / "supervisor" / "g" and oct(made.stat().st_mode & 0o777) == "0o700"
