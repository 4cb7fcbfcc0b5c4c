"""The watch request, and the logs and events commands, against a real supervisor.

A watch is pushed every change as it happens and nothing when nothing changes; a watcher that
does not keep up is told what it lost (or dropped), and never makes the supervisor hold more.
"""

import json
import os
import select
import signal
import socket
import subprocess
import time

from examples.demo.stack import ROOT, wait_until
from tests.helpers.supervisor import PY

GRAPH = """
version = 1
[services.db]
command = ["python3", "-u", "-c", "import time\\nfor n in range(5): print('db line', n)\\ntime.sleep(600)"]
provides = ["sql"]
restart = "never"
[services.web]
command = ["sleep", "600"]
requires = ["sql"]
"""


class Watch:
    """A raw watch connection: the test reads exactly what the supervisor sends."""

    def __init__(self, path: str, **request):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.sock.sendall(json.dumps({"command": "watch", **request}).encode() + b"\n")
        self.buffer = b""
        self.answer = self.next()

    def next(self, timeout: float = 10.0) -> dict:
        self.sock.settimeout(timeout)
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(1 << 16)
            assert chunk, "the supervisor closed the watch"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def closed(self) -> bool:
        """Whether the supervisor closes the connection (after whatever it still sends)."""
        self.sock.settimeout(10)
        try:
            for _ in range(1000):
                if not self.sock.recv(1 << 16):
                    return True
        except ConnectionResetError:  # closed with the client's bytes unread
            return True
        return False

    def until(self, predicate, timeout: float = 10.0, count: int = 500) -> dict:
        """The first update that satisfies ``predicate`` (bounded in time and in updates read)."""
        deadline = time.monotonic() + timeout
        for _ in range(count):
            update = self.next(max(0.1, deadline - time.monotonic()))
            if predicate(update):
                return update
        raise AssertionError(f"no such update among {count}")

    def all_of(self, **wanted) -> dict[str, dict]:
        """For each named predicate, the first update that satisfies it, in whatever order they come."""
        found: dict[str, dict] = {}
        deadline = time.monotonic() + 10
        for _ in range(500):
            if found.keys() == wanted.keys():
                return found
            update = self.next(max(0.1, deadline - time.monotonic()))
            found.update(
                {name: update for name, test in wanted.items() if name not in found and test(update)}
            )
        raise AssertionError(f"only {sorted(found)} of {sorted(wanted)}")

    def idle(self, seconds: float) -> bool:
        """Whether nothing at all arrives for ``seconds``."""
        return not self.buffer and not select.select([self.sock], [], [], seconds)[0]

    def close(self) -> None:
        self.sock.close()


def test_watch_pushes_status_and_events_as_they_happen_and_nothing_when_idle(supervisor):
    sup = supervisor(GRAPH)
    sup.wait_event("web", "ready")
    watch = Watch(sup.control, backlog=3)
    assert watch.answer["ok"] and {u["unit"] for u in watch.answer["status"]["services"]} == {"db", "web"}
    backlog = [watch.next()["event"] for _ in range(3)]
    assert [e["seq"] for e in backlog] == sorted(e["seq"] for e in backlog)
    assert watch.idle(1.0), "a watch with nothing changing must receive nothing"
    db = sup.unit_status("db")["pid"]
    os.kill(db, signal.SIGKILL)
    seen = watch.all_of(
        failed=lambda u: u.get("unit", {}).get("unit") == "db" and u["unit"]["state"] == "failed",
        lost=lambda u: u.get("capability", {}).get("state") == "lost",
        degraded=lambda u: u.get("unit", {}).get("unit") == "web" and u["unit"]["state"] == "degraded",
        event=lambda u: u.get("event", {}).get("event") == "failed",
    )
    assert seen["failed"]["unit"]["last_exit"] == {"code": None, "signal": "SIGKILL"}
    assert seen["lost"]["capability"]["name"] == "sql" and seen["lost"]["capability"]["provider"] is None
    assert "provider db failed, last killed by SIGKILL" in seen["degraded"]["unit"]["reason"]
    assert seen["event"]["event"] == {**seen["event"]["event"], "unit": "db", "message": "killed by SIGKILL"}
    watch.close()
    assert sup.stop() == 0


def test_a_watch_takes_no_more_requests_and_bad_fields_are_named(supervisor):
    sup = supervisor(GRAPH)
    sup.wait_event("web", "ready")
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(10)
        client.connect(sup.control)
        client.sendall(b'{"command": "watch", "backlog": -1}\n{"command": "watch", "output": "nosuch"}\n')
        client.sendall(
            b'{"command": "watch", "events": "yes"}\n{"command": "watch"}\n{"command": "status"}\n'
        )
        answers = [json.loads(line) for line in client.makefile("rb")]
    assert answers == [
        {"ok": False, "error": "backlog must be a whole number, 0 or more"},
        {"ok": False, "error": "no service or unit 'nosuch' (units: db, web)"},
        {"ok": False, "error": "events must be true or false"},
        {"ok": False, "error": "nothing may follow a watch request on its connection: connection closed"},
    ]
    watch = Watch(sup.control)
    watch.sock.sendall(b'{"command": "status"}\n')  # input on a watch connection ends it
    assert watch.closed()
    watch.close()
    assert sup.status()["pid"] == sup.process.pid
    assert sup.stop() == 0


CHATTY = """
import sys, time
line = "x" * 2000 + "\\n"
while True:
    sys.stdout.write(line)
    sys.stdout.flush()
    time.sleep(0.002)
"""


def test_a_slow_watcher_is_told_what_it_lost_and_one_that_never_reads_is_dropped(supervisor, tmp_path):
    """About 1 MB a second of output, followed by two watchers: one reads nothing for 3 s (its
    1 MiB queue overflows), the other reads nothing at all (dropped after SEND_TIMEOUT)."""
    (tmp_path / "chatty.py").write_text(CHATTY)
    sup = supervisor(f'''
    version = 1
    [services.chatty]
    command = ["python3", "{tmp_path / "chatty.py"}"]
    ''')
    sup.wait_event("chatty", "ready")
    slow = Watch(sup.control, status=True, events=False, output="chatty")
    never = Watch(sup.control, status=False, events=False, output="chatty")
    never.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    time.sleep(3)  # the slow one does not read for a while: more than its queue's worth is written
    lost = slow.until(lambda u: "lost" in u, count=100_000)
    assert lost["lost"] > 0
    resync = slow.until(lambda u: "unit" in u)  # then it is brought up to date
    assert resync["unit"]["unit"] == "chatty" and resync["unit"]["state"] == "ready"
    dropped = sup.wait_event("supervisor", "dropped", timeout=30)
    assert "did not read its answer within 5s" in dropped["message"]
    assert sup.process.poll() is None and sup.status()["services"][0]["state"] == "ready"
    slow.close()
    never.close()
    assert sup.stop() == 0


def run_cli(sup, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
    return sup.ctl(*args, timeout=timeout)


def test_logs_keeps_the_last_lines_of_a_unit_and_follows_new_ones(supervisor, tmp_path):
    sup = supervisor("""
    version = 1
    [services.talk]
    command = ["python3", "-u", "-c", "import sys, time\\nfor n in range(30):\\n print('line', n); time.sleep(0.1)\\nprint('oops', file=sys.stderr)\\ntime.sleep(600)"]
    """)
    sup.wait_event("talk", "ready")
    wait_until(lambda: "oops" in sup.output("talk"), what="the last line")
    last = run_cli(sup, "logs", "talk", "-n", "3")
    assert last.returncode == 0, last.stderr
    assert [line.split(" ", 1)[1] for line in last.stdout.splitlines()] == [
        "| line 28",
        "| line 29",
        "! oops",
    ]
    follower = subprocess.Popen(
        [PY, "-m", "supervisor", "logs", "talk", "-f", "-n", "1", "--control", sup.control],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout.readline().endswith("! oops\n")
        assert sup.ctl("restart", "talk").returncode == 0  # its new lines are followed
        assert follower.stdout.readline().endswith("| line 0\n")
    finally:
        follower.terminate()
        follower.wait(10)
    assert sup.stop() == 0


def test_events_lists_the_recent_events_as_json_lines(supervisor):
    sup = supervisor(GRAPH)
    sup.wait_event("web", "ready")
    result = run_cli(sup, "events", "--json", "-n", "100")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"unit": "web", "event": "ready"} in [{"unit": e["unit"], "event": e["event"]} for e in events]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    text = run_cli(sup, "events", "-n", "1")
    assert text.returncode == 0 and len(text.stdout.splitlines()) == 1
    assert sup.stop() == 0


def test_a_watch_is_told_which_units_a_reload_removes_and_adds(supervisor, tmp_path):
    """``web`` goes and ``cache`` comes: each is an event under its name, ``cache`` is then sent
    as a unit like any other, and nothing more is sent of ``web`` after its ``removed``."""
    sup = supervisor(GRAPH)
    sup.wait_event("web", "ready")
    watch = Watch(sup.control)
    after = tmp_path / "after.toml"
    after.write_text(GRAPH.split("[services.web]")[0] + '[services.cache]\ncommand = ["sleep", "600"]\n')
    assert sup.ctl("reload", str(after), timeout=60).returncode == 0
    updates: list[dict] = []
    deadline = time.monotonic() + 20
    for _ in range(500):  # everything up to the end of the reload, and what follows it at once
        if any(u.get("event", {}).get("event") == "reloaded" for u in updates) and watch.idle(1.0):
            break
        updates.append(watch.next(max(0.1, deadline - time.monotonic())))
    events = [(e["unit"], e["event"], e["message"]) for e in (u["event"] for u in updates if "event" in u)]
    assert ("web", "removed", "a reload removed it from the graph") in events
    assert ("cache", "added", "a reload added it to the graph") in events
    units = [u["unit"]["unit"] for u in updates if "unit" in u]
    assert "cache" in units
    removed = next(i for i, u in enumerate(updates) if u.get("event", {}).get("event") == "removed")
    assert "web" not in [u["unit"]["unit"] for u in updates[removed:] if "unit" in u]
    printed = run_cli(sup, "events", "-n", "100")  # as `events -f` prints them
    assert " web removed a reload removed it from the graph" in printed.stdout
    watch.close()
    assert sup.stop() == 0
