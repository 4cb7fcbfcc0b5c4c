"""Every ready probe type, sd_notify included, and a probe that hangs."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import trio

from supervisor.runtime.notify import parse
from supervisor.runtime.probes import probe_once
from tests.helpers.net import free_port


def test_exec_tcp_unix_file_probes(supervisor):
    port = free_port()
    sup = supervisor(f"""
    version = 1
    [services.tcp]
    command = ["python3", "-c", "import socket, time; time.sleep(0.2); s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(60)"]
    provides = ["tcp"]
    ready = {{ tcp = "127.0.0.1:{port}", interval = "50ms", timeout = "5s" }}
    [services.unix]
    command = ["python3", "-c", "import socket, os, time; s = socket.socket(socket.AF_UNIX); s.bind(os.environ['RUNTIME_DIR'] + '/u.sock'); s.listen(); time.sleep(60)"]
    provides = ["unix"]
    ready = {{ unix = "${{RUNTIME_DIR}}/u.sock", interval = "50ms", timeout = "5s" }}
    [services.file]
    command = ["sh", "-c", "sleep 0.1; touch $RUNTIME_DIR/f; exec sleep 60"]
    provides = ["file"]
    ready = {{ file = "${{RUNTIME_DIR}}/f", interval = "50ms" }}
    [services.exec]
    command = ["sleep", "60"]
    requires = ["tcp", "unix", "file"]
    ready = {{ exec = ["sh", "-c", "test -S $RUNTIME_DIR/u.sock"], interval = "50ms" }}
    """)
    for unit, proof in (("tcp", "tcp 127.0.0.1"), ("unix", "unix "), ("file", "file "), ("exec", "exec sh")):
        assert sup.wait_event(unit, "ready")["message"].startswith(proof)
    assert sup.stop() == 0


def test_http_probe(supervisor):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        sup = supervisor(f"""
        version = 1
        [services.good]
        command = ["sleep", "60"]
        ready = {{ http = "http://127.0.0.1:{port}/healthz", interval = "50ms" }}
        [services.bad]
        command = ["sleep", "60"]
        restart = "never"
        ready = {{ http = "http://127.0.0.1:{port}/other", interval = "50ms", timeout = "300ms" }}
        """)
        assert "http" in sup.wait_event("good", "ready")["message"]
        assert "503" in sup.wait_event("bad", "failed")["message"]
        assert sup.stop() == 0
    finally:
        server.shutdown()


NOTIFY = r"""
import os, socket, time
time.sleep(0.2)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"STATUS=loading keys\nREADY=1\n", os.environ["NOTIFY_SOCKET"])
time.sleep(60)
"""


def test_sd_notify_ready_and_status(supervisor, tmp_path):
    (tmp_path / "notify.py").write_text(NOTIFY)
    sup = supervisor(f"""
    version = 1
    [services.daemon]
    command = ["python3", "{tmp_path / "notify.py"}"]
    provides = ["d"]
    ready = {{ notify = true, timeout = "5s" }}
    [services.after]
    command = ["sleep", "60"]
    requires = ["d"]
    [services.silent]
    command = ["sleep", "60"]
    restart = "never"
    ready = {{ notify = true, timeout = "300ms" }}
    """)
    ready = sup.wait_event("daemon", "ready")
    assert "READY=1" in ready["message"] and "loading keys" in ready["message"]
    sup.wait_event("after", "started")
    assert sup.index("daemon", "ready") < sup.index("after", "started")
    assert sup.events("daemon", "status")[0]["message"] == "loading keys"
    assert "no READY=1" in sup.wait_event("silent", "failed")["message"]
    assert sup.unit_status("daemon")["status"] == "loading keys"
    assert sup.stop() == 0


@pytest.mark.parametrize("kind", ["ready", "check"])
def test_hanging_probe_is_bounded_and_named(supervisor, kind):
    sup = supervisor(f"""
    version = 1
    [services.hang]
    command = ["sleep", "60"]
    restart = "never"
    max_restarts = 0
    {kind} = {{ exec = ["sleep", "60"], timeout = "300ms", interval = "50ms" }}
    [services.other]
    command = ["sleep", "60"]
    """)
    failed = sup.wait_event("hang", "failed")["message"]
    assert "no answer within 300ms" in failed or "not ready within 300ms" in failed
    sup.wait_event("other", "ready")
    assert sup.stop() == 0


def test_a_try_the_deadline_cuts_short_does_not_hide_why_the_earlier_ones_failed(supervisor):
    """Each try fails in 0.2 s with its reason; the second starts with about 0.1 s left, and only
    times out. The unit's failure gives the reason, not "no answer within 100ms" (what a loaded
    machine's late wake-up made of a refused certificate)."""
    sup = supervisor("""
    version = 1
    [services.failing]
    command = ["sleep", "60"]
    restart = "never"
    ready = { exec = ["sh", "-c", "echo the real reason; sleep 0.2; exit 1"], timeout = "1s", interval = "700ms" }
    """)
    failed = sup.wait_event("failing", "failed")["message"]
    assert failed.startswith("not ready within 1s") and failed.endswith("the real reason"), failed


@pytest.mark.parametrize("late", [0.0, -0.25])
def test_a_probe_woken_after_its_deadline_fails_without_running(late):
    """A ready probe's retries share one deadline; woken past it (a loaded machine), the next try
    has a timeout of zero or less. It fails, saying so, and runs nothing: before, trio refused the
    negative timeout and the unit died of an internal error."""
    result = trio.run(probe_once, "exec", ["true"], late, None, None)
    assert (result.ok, result.output) == (False, "its timeout ran out before it could run")


def test_notify_fields_are_separated_by_newlines_only():
    """A STATUS may hold any other line-breaking character (a form feed, U+2028): it stays in the
    value instead of cutting it and making up a field of what follows."""
    assert parse("STATUS=a\x1cb\u2028X_CAPABILITY_BROKEN=c\nREADY=1".encode()) == {
        "STATUS": "a\x1cb\u2028X_CAPABILITY_BROKEN=c",
        "READY": "1",
    }
