"""Drained, rolling restarts: a restarted replica of a service with a drain_timeout finishes its
sessions in the background while its replacement starts, replicas are restarted one at a time,
and the socket they share refuses nothing meanwhile."""

import json
import socket
import threading
import time
from datetime import datetime

from examples.demo.stack import wait_until
from tests.helpers.net import free_port

# A replica serving the shared socket (fd 3), ready once it said so on NOTIFY_SOCKET. Each
# connection gets "UNIT PID" and then an echo of every line until the client closes. On SIGTERM
# it stops accepting at once, lets its sessions finish for up to DRAIN_TIMEOUT seconds, and exits.
WORKER = r"""
import os, signal, socket, sys, threading, time
print("DRAIN_TIMEOUT", os.environ.get("DRAIN_TIMEOUT"), flush=True)
time.sleep(float(sys.argv[1]))  # a slow start: its replacement is not ready at once
listener = socket.socket(fileno=3)
listener.settimeout(0.05)
stopping = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stopping.set())
sessions = []

def serve(conn):
    with conn:
        conn.sendall(f"{os.environ['SUPERVISOR_UNIT']} {os.getpid()}\n".encode())
        for line in conn.makefile("rb"):
            conn.sendall(line)

notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
while not stopping.is_set():
    try:
        conn, _ = listener.accept()
    except TimeoutError:
        continue
    conn.settimeout(None)
    session = threading.Thread(target=serve, args=(conn,), daemon=True)
    session.start()
    sessions.append(session)
listener.close()
print("draining", sum(s.is_alive() for s in sessions), "sessions", flush=True)
deadline = time.monotonic() + float(os.environ.get("DRAIN_TIMEOUT", "0"))
for session in sessions:
    session.join(max(0.0, deadline - time.monotonic()))
print("drained", flush=True)
"""


def _graph(tmp_path, port: int, settings: str, start_delay: float = 0.5) -> str:
    (tmp_path / "worker.py").write_text(WORKER)
    return f"""
    version = 1
    [services.worker]
    command = ["python3", "{tmp_path / "worker.py"}", "{start_delay}"]
    replicas = 2
    listen = ["tcp:127.0.0.1:{port}"]
    ready = {{ notify = true, timeout = "20s" }}
    {settings}
    """


def _hello(conn: socket.socket) -> tuple[str, int]:
    unit, pid = conn.makefile("r").readline().split()
    return unit, int(pid)


def _ping(conn: socket.socket, text: bytes = b"ping\n") -> bytes:
    conn.sendall(text)
    return conn.recv(100)


class Connector(threading.Thread):
    """Connects through the shared socket again and again (bounded), each connection answered or
    counted as failed, until told to stop."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.done = port, threading.Event()
        self.answered: list[str] = []
        self.failed: list[str] = []

    def run(self) -> None:
        for _ in range(2000):
            if self.done.is_set():
                return
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as conn:
                    conn.settimeout(10)
                    self.answered.append(_hello(conn)[0])
            except (OSError, ValueError) as error:
                self.failed.append(repr(error))
            time.sleep(0.02)


def test_a_draining_replica_keeps_its_session_while_the_replicas_roll(supervisor, tmp_path):
    port = free_port()
    sup = supervisor(_graph(tmp_path, port, 'drain_timeout = "30s"'))
    for n in (1, 2):
        sup.wait_event(f"worker@{n}", "ready", timeout=20)
    assert ["DRAIN_TIMEOUT 30"] == sup.output("worker@1")[:1]
    session = socket.create_connection(("127.0.0.1", port), timeout=10)
    unit, old_pid = _hello(session)
    connector = Connector(port)
    connector.start()
    wait_until(lambda: len(connector.answered) >= 3, 20, "connections before the restart")

    restart = sup.ctl("restart", "worker", timeout=60)

    served_during = len(connector.answered)
    wait_until(lambda: len(connector.answered) >= served_during + 3, 20, "connections after the restart")
    connector.done.set()
    connector.join(30)
    assert restart.returncode == 0, restart.stdout + restart.stderr
    assert [line.split(":")[0] for line in restart.stdout.splitlines()] == ["worker@1", "worker@2"]
    assert f"old pid {old_pid} draining" in restart.stdout
    assert connector.failed == [] and len(connector.answered) > 6
    # rolling: worker@2 was handed over only once the new worker@1 was ready
    assert sup.index("worker@1", "draining") < _nth_index(sup, "worker@1", "ready", 2)
    assert _nth_index(sup, "worker@1", "ready", 2) < sup.index("worker@2", "draining")
    # the old process still carries its session, outside the unit: listed as draining, recorded
    status = sup.status()
    assert old_pid in [d["pid"] for d in status["draining"] if d["unit"] == unit]
    assert old_pid not in [u["pid"] for u in status["services"]]
    table = sup.ctl("status", "--wide").stdout
    assert "draining" in table and f"{unit} " in table.split("draining", 1)[1] and str(old_pid) in table
    groups = json.loads((sup.runtime_dir / "groups.json").read_text())["groups"]
    assert old_pid in [pid for pid, _ in groups]
    assert _ping(session) == b"ping\n"
    session.close()
    drained = wait_until(lambda: _drained(sup, old_pid), 20, f"pid {old_pid} drained")
    assert "exit 0" in drained["message"]
    gone = lambda: old_pid not in [d["pid"] for d in sup.status()["draining"]]  # noqa: E731
    wait_until(gone, 10, "draining list emptied")
    assert sup.stop() == 0


def _nth_index(sup, unit: str, event: str, count: int) -> int:
    found = [i for i, r in enumerate(list(sup.records)) if r.get("unit") == unit and r.get("event") == event]
    assert len(found) >= count, f"{event!r} #{count} for {unit}:\n{sup.tail()}"
    return found[count - 1]


def _drained(sup, pid: int) -> dict | None:
    return next((e for e in sup.events(event="drained") if f"pid {pid} " in e["message"]), None)


def test_a_process_still_draining_at_its_deadline_gets_sigkill(supervisor, tmp_path):
    sup = supervisor("""
    version = 1
    [services.stubborn]
    command = ["sh", "-c", "trap '' TERM; echo DRAIN_TIMEOUT=$DRAIN_TIMEOUT; while :; do sleep 0.1; done"]
    drain_timeout = "1500ms"
    stop_timeout = "1s"
    """)
    sup.wait_event("stubborn", "ready")
    old_pid = sup.unit_status("stubborn")["pid"]
    assert sup.output("stubborn") == ["DRAIN_TIMEOUT=1.5"]
    restart = sup.ctl("restart", "stubborn")
    assert restart.returncode == 0, restart.stderr
    # the new process runs at once, while the old one ignores its SIGTERM
    new_pid = sup.unit_status("stubborn")["pid"]
    assert new_pid not in (None, old_pid)
    draining = sup.wait_event("stubborn", "draining")
    killed = sup.wait_event("stubborn", "killed", timeout=15)
    assert killed["message"].startswith(f"pid {old_pid} still draining 2.5s after SIGTERM")
    waited = datetime.fromisoformat(killed["time"]) - datetime.fromisoformat(draining["time"])
    assert waited.total_seconds() >= 2.4
    drained = wait_until(lambda: _drained(sup, old_pid), 10, "drained")
    assert "killed by SIGKILL" in drained["message"]
    assert sup.unit_status("stubborn")["pid"] == new_pid
    assert sup.stop(timeout=30) == 1  # the new process ignores its SIGTERM too


def test_shutdown_waits_for_a_draining_process_up_to_its_deadline(supervisor, tmp_path):
    sup = supervisor("""
    version = 1
    [services.stubborn]
    command = ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"]
    drain_timeout = "1s"
    stop_timeout = "1s"
    """)
    sup.wait_event("stubborn", "ready")
    assert sup.ctl("restart", "stubborn").returncode == 0
    sup.wait_event("stubborn", "draining")
    assert sup.stop(timeout=30) == 1  # the new process ignored its SIGTERM too: killed, a fault
    kinds = [e["event"] for e in sup.events("stubborn")]
    assert kinds.count("killed") == 2 and "drained" in kinds
    assert sup.index("stubborn", "drained") < sup.index("supervisor", "exit")


def test_replicas_without_draining_restart_one_at_a_time(supervisor, tmp_path):
    port = free_port()
    sup = supervisor(_graph(tmp_path, port, "", start_delay=1.0))
    for n in (1, 2):
        sup.wait_event(f"worker@{n}", "ready", timeout=20)
    assert sup.output("worker@1")[:1] == ["DRAIN_TIMEOUT None"]
    restart = sup.ctl("restart", "worker", timeout=60)
    assert restart.returncode == 0, restart.stderr
    assert "worker@1: restarted: old pid" in restart.stdout
    assert _nth_index(sup, "worker@1", "ready", 2) < sup.index("worker@2", "stopping")
    assert not sup.events(event="draining")
    assert sup.stop() == 0
