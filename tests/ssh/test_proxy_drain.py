"""SIGTERM with DRAIN_TIMEOUT: the worker stops accepting, lets its sessions end, then exits 0.

Two workers share one listening socket, handed down as the supervisor hands it (the exec shim,
LISTEN_FDS), so that new connections have somewhere else to go while one drains.
"""

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from examples.demo.stack import ROOT, stop_process
from services.ssh_proxy.drain import SHUTTING_DOWN
from tests.helpers.services import read_line
from tests.ssh import proxy_stack

stack = proxy_stack.stack  # the fixture
SHIM = [sys.executable, "-S", str(ROOT / "supervisor" / "runtime" / "exec_shim.py")]


class SharedSocket:
    """A listening socket on 127.0.0.1 and the workers started on it, each READY before it is used."""

    def __init__(self, stack, tmp_path) -> None:
        self.stack, self.tmp = stack, tmp_path
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        stack.port = self.listener.getsockname()[1]
        self.workers: list[subprocess.Popen] = []

    def start(self, **env: str) -> subprocess.Popen:
        index = len(self.workers)
        notify_path = self.tmp / f"notify{index}.sock"
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(notify_path))
        notify.settimeout(20)
        command = [sys.executable, "-m", "services.ssh_proxy", "--agent", self.stack.agent]
        command += ["--registry", str(self.stack.db), "--host-keys", str(self.tmp / "host-keys")]
        with (self.tmp / f"worker{index}.out").open("w") as out, (self.tmp / f"worker{index}.err").open("w") as err:
            worker = subprocess.Popen(
                [*SHIM, str(self.listener.fileno()), "listen", *command],
                cwd=ROOT,
                pass_fds=[self.listener.fileno()],
                env={"PATH": os.environ["PATH"], "NOTIFY_SOCKET": str(notify_path), **env},
                stdout=out,
                stderr=err,
            )
        self.workers.append(worker)
        with notify:
            assert notify.recv(64) == b"READY=1", self.log(index)
        return worker

    def log(self, index: int) -> str:
        return (self.tmp / f"worker{index}.err").read_text()

    def audit(self, index: int) -> list[dict]:
        return [json.loads(line) for line in (self.tmp / f"worker{index}.out").read_text().splitlines()]

    def close(self) -> None:
        self.listener.close()
        for worker in self.workers:
            stop_process(worker)


@pytest.fixture
def shared(stack, tmp_path):
    stop_process(stack.worker)  # the stack's own worker listens elsewhere
    workers = SharedSocket(stack, tmp_path)
    try:
        yield workers
    finally:
        workers.close()


def _echoes(session: subprocess.Popen, text: bytes) -> bool:
    session.stdin.write(text + b"\n")
    session.stdin.flush()
    return read_line(session, timeout=15) == text + b"\n"


def test_a_draining_worker_keeps_its_sessions_and_takes_no_new_ones(stack, shared):
    device = stack.device()
    draining = shared.start(DRAIN_TIMEOUT="60")
    long = stack.popen(f"alice+{device.uuid}", "cat")  # only this worker listens yet: it is its
    try:
        assert _echoes(long, b"before")
        other = shared.start()
        draining.send_signal(signal.SIGTERM)
        proxy_stack.wait_until(lambda: "draining" in shared.log(0), timeout=15, what="the drain to start")
        for _ in range(8):  # the socket is the same: every new connection goes to the other worker
            result = stack.ssh(f"alice+{device.uuid}", "echo new")
            assert (result.returncode, result.stdout) == (0, b"new\n"), result.stderr
        assert draining.poll() is None and _echoes(long, b"during the drain")
        long.stdin.close()  # cat ends, and the session with it
        assert long.wait(15) == 0
        assert draining.wait(15) == 0
    finally:
        stop_process(long)
    assert "drained in" in shared.log(0) and "1 connections ended, 0 closed" in shared.log(0), shared.log(0)
    assert [record["worker"] for record in shared.audit(0)] == [draining.pid]
    assert {record["worker"] for record in shared.audit(1)} == {other.pid}
    assert other.poll() is None


def test_sessions_left_at_the_drain_timeout_are_told_and_closed(stack, shared):
    device = stack.device()
    worker = shared.start(DRAIN_TIMEOUT="1.5")
    long = stack.popen(f"alice+{device.uuid}", "cat", options=("-v",))  # shows the disconnect reason
    try:
        assert _echoes(long, b"before")
        worker.send_signal(signal.SIGTERM)
        proxy_stack.wait_until(lambda: "draining" in shared.log(0), timeout=15, what="the drain to start")
        assert _echoes(long, b"during the drain")
        assert worker.wait(15) == 0
        assert long.wait(15) == 255
        told = long.stderr.read()
        assert SHUTTING_DOWN in told, told.decode()[-1500:]
    finally:
        stop_process(long)
    assert "0 connections ended, 1 closed at the drain timeout" in shared.log(0), shared.log(0)
    assert [record["result"] for record in shared.audit(0)] == ["ok"]


def test_without_drain_timeout_sigterm_stops_the_worker_at_once(stack, shared):
    """As before drains existed, the sessions end with the worker (a guard of the default); each
    user is told the worker is shutting down, not that its device closed the connection."""
    device = stack.device()
    worker = shared.start()
    long = stack.popen(f"alice+{device.uuid}", "cat")
    try:
        assert _echoes(long, b"before")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(5) == 0
        assert long.wait(15) == 255
        told = long.stderr.read().decode()
    finally:
        stop_process(long)
    assert SHUTTING_DOWN.decode() in told and "closed the connection" not in told, told
    assert "draining" not in shared.log(0)
