"""Replicas sharing one socket handed over with the systemd socket-activation protocol."""

import os
import socket

from examples.demo.stack import wait_until

WORKER = r"""
import os, socket, sys
assert os.environ["LISTEN_PID"] == str(os.getpid()), "LISTEN_PID is not mine"
assert os.environ["LISTEN_FDS"] == "1"
print("activated", os.environ["LISTEN_FDNAMES"], "fds", sorted(os.listdir("/proc/self/fd")), flush=True)
listener = socket.socket(fileno=3)
while True:
    conn, _ = listener.accept()
    conn.sendall(os.environ["SUPERVISOR_UNIT"].encode())
    conn.close()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ask(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        return conn.recv(100).decode()


def test_replicas_share_a_handed_over_socket(supervisor, tmp_path):
    (tmp_path / "worker.py").write_text(WORKER)
    port = _free_port()
    sup = supervisor(f"""
    version = 1
    [services.worker]
    command = ["python3", "{tmp_path / "worker.py"}"]
    replicas = 3
    listen = ["tcp:127.0.0.1:${{PORT:-{port}}}"]
    provides = ["w"]
    ready = {{ tcp = "127.0.0.1:{port}", interval = "50ms" }}
    """)
    for n in (1, 2, 3):
        sup.wait_event(f"worker@{n}", "ready")
    wait_until(lambda: all(sup.output(f"worker@{n}") for n in (1, 2, 3)), what="activation lines")
    assert sup.output("worker@1")[0] == "activated worker fds ['0', '1', '2', '3', '4']"
    answers = {_ask(port) for _ in range(30)}
    assert answers <= {"worker@1", "worker@2", "worker@3"} and answers
    # stopping every worker keeps the socket: a connection made meanwhile waits in the queue
    assert sup.ctl("stop", "worker").returncode == 0
    pending = socket.create_connection(("127.0.0.1", port), timeout=5)
    assert sup.ctl("start", "worker@2").returncode == 0
    assert pending.recv(100).decode() == "worker@2"
    pending.close()
    assert [u["replica"] for u in sup.status()["services"]] == [1, 2, 3]
    assert sup.stop() == 0


def test_port_in_use_is_a_clear_failure(supervisor):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        sup = supervisor(f"""
        version = 1
        [services.web]
        command = ["sleep", "60"]
        listen = ["tcp:127.0.0.1:{port}"]
        restart = "never"
        [services.other]
        command = ["sleep", "60"]
        """)
        failed = sup.wait_event("web", "failed")["message"]
        assert f"cannot listen on tcp:127.0.0.1:{port}: Address already in use" == failed
        sup.wait_event("other", "ready")
        assert sup.stop() == 0


def test_a_port_variable_that_is_not_a_number_is_a_clear_failure(supervisor):
    sup = supervisor(
        """
        version = 1
        [services.web]
        command = ["sleep", "60"]
        listen = ["tcp:127.0.0.1:${WEB_PORT}"]
        restart = "never"
        """,
        env={**os.environ, "WEB_PORT": "80a"},
    )
    failed = sup.wait_event("web", "failed")["message"]
    assert failed == "listen: '127.0.0.1:80a': the port '80a' is not a number from 0 to 65535"
    assert sup.stop() == 0
