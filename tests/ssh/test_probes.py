"""``python -m services.probes agent SOCKET`` against a real ssh-agent and things that are not one."""

import socket
import threading
import time

import pytest

from tests.helpers.services import run_service


def probe(path, *args):
    result = run_service("probes", "agent", str(path), *args)
    return result.returncode, result.stderr


@pytest.fixture
def unix_server(tmp_path):
    """Factory: a UNIX socket at a path that handles each connection with ``handle(conn)``."""
    servers = []

    def start(handle=None):
        path = tmp_path / f"server{len(servers)}.sock"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.listen(8)
        servers.append(server)
        if handle is not None:

            def serve():
                try:
                    while True:
                        conn, _ = server.accept()
                        with conn:
                            handle(conn)
                except OSError:
                    pass  # closed at teardown

            threading.Thread(target=serve, daemon=True).start()
        return path

    yield start
    for server in servers:
        server.close()


def test_real_agent_answers(agent):
    assert probe(agent) == (0, "")


def test_no_socket(tmp_path):
    status, err = probe(tmp_path / "absent.sock")
    assert status != 0 and err == f"probe: {tmp_path / 'absent.sock'}: no such socket\n"


def test_regular_file_is_not_a_socket(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    status, err = probe(path)
    assert status != 0 and err.strip().endswith(": not a socket")


def test_stale_socket_refuses(tmp_path):
    path = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))  # bound, never listening: what a dead agent leaves behind
    status, err = probe(path)
    assert status != 0 and "connection refused" in err


def test_something_else_listening_is_not_an_agent(unix_server):
    path = unix_server(lambda conn: (conn.recv(5), conn.sendall(b"\0\0\0\x01\x05")))  # AGENT_FAILURE
    status, err = probe(path)
    assert status != 0 and "not an ssh-agent (answer type 5)" in err
    path = unix_server(lambda conn: conn.recv(5))  # reads, closes without a word
    status, err = probe(path)
    assert status != 0 and "not an ssh-agent (closed the connection" in err


def test_silent_listener_times_out(unix_server):
    path = unix_server()  # accepts into the backlog, never answers
    started = time.monotonic()
    status, err = probe(path, "--timeout", "0.5")
    assert status != 0 and "no answer within 0.5s" in err
    assert time.monotonic() - started < 5
    assert len(err.splitlines()) == 1
