"""Hostile clients on the control socket, against a real ``supervisor run``.

Random and adversarial lines (deep nesting, huge numbers, wrong types, invalid UTF-8, NUL bytes,
partial and over-long lines, many lines at once), a client that never reads its answers and
more clients than the supervisor serves at once. Every line must get one answer (an error for
anything but ``status``) or close that connection only; afterwards the supervisor still answers
``status`` and the graph runs on with the same processes.
"""

import json
import socket
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervisor.graph.durations import format_duration
from supervisor.runtime.client import LIMIT
from supervisor.runtime.control import MAX_CLIENTS, SEND_TIMEOUT

GRAPH = """
version = 1
[services.provider]
command = ["sleep", "60"]
provides = ["p"]
[services.user]
command = ["sleep", "60"]
requires = ["p"]
"""
UNITS = {"provider", "user"}
TIMEOUT = 10.0

ADVERSARIAL = [  # each fits in one request line (LIMIT); over-long lines are tested apart
    b"[" * 60000,
    b"{" * 60000,
    b'{"a":' * 10000 + b"1" + b"}" * 10000,
    b"1e999999",
    b"-1e999999",
    b'{"command": 1e999999}',
    b'{"command": "stop", "target": 1e999999}',
    b"9" * 5000,
    b'{"command": "status", "n": ' + b"9" * 5000 + b"}",
    b"NaN",
    b'{"command": NaN}',
    b'{"command": ["status"]}',
    b'{"command": {"command": "status"}}',
    b'{"command": null}',
    b'{"command": true, "target": false}',
    b'{"command": "stop"}',
    b'{"command": "stop", "target": ["provider"]}',
    b'{"command": "start", "target": {"$ne": null}}',
    b'{"command": "restart", "target": 7}',
    b'{"command": "stop", "target": "' + b"[" * 30000 + b'"}',
    b'{"command": "' + b"x" * 60000 + b'"}',
    b"\xff\xfe\xfd",
    b'{"command": "st\xffatus"}',
    b'{"command": "status\x00"}',
    b'{"command": "status"}\x00',
    b"\x00" * 1000,
    b'{"command": "\\ud800"}',
    b'{"command": "status"}{"command": "status"}',
    b'{"command": "{log_source.transport}\\n%s%n"}',
    b"[]",
    b"null",
    b'"status"',
    b"",
    b"   \t\r",
]


def _connect(sup) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(TIMEOUT)
    sock.connect(sup.control)
    return sock


def _exchange(sup, lines: list[bytes]) -> list[dict]:
    """Send ``lines`` at once on a new connection; the answers, one per line, in order."""
    with _connect(sup) as sock:
        sock.sendall(b"".join(line + b"\n" for line in lines))
        reader = sock.makefile("rb")
        return [json.loads(reader.readline()) for _ in lines]


def _request(line: bytes) -> dict | None:
    """The request ``line`` carries, as the supervisor must read it; None if it is not one."""
    try:
        request = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return request if isinstance(request, dict) else None


def _assert_answered(lines: list[bytes], answers: list[dict]) -> None:
    for line, answer in zip(lines, answers, strict=True):
        assert set(answer) <= {"ok", "error", "status"}, (line[:80], answer)
        if (_request(line) or {}).get("command") == "status":
            assert answer["ok"] and answer["status"]["services"], answer
        else:
            assert answer["ok"] is False and isinstance(answer["error"], str), (line[:80], answer)


def _read_to_end(sock: socket.socket) -> int:
    """How many answer lines arrive before the supervisor's end of the connection."""
    reader = sock.makefile("rb")
    deadline = time.monotonic() + TIMEOUT
    received = 0
    try:
        while reader.readline():
            received += 1
            assert time.monotonic() < deadline
    except ConnectionResetError:  # it closed with requests of ours unread: the end, too
        pass
    return received


def _running(supervisor):
    """A supervisor of GRAPH with its units up, and their pids."""
    sup = supervisor(GRAPH)
    sup.wait_event("user", "ready")
    return sup, {u["unit"]: u["pid"] for u in sup.status()["services"]}


def _assert_graph_unharmed(sup, pids: dict) -> None:
    assert sup.process.poll() is None, "the supervisor died"
    status = sup.status()
    assert {u["unit"]: u["pid"] for u in status["services"]} == pids
    assert {u["state"] for u in status["services"]} == {"ready"}


# JSON values of every type, nested, with the texts a parser or a formatter may trip on.
_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["status", "stop", "start", "restart", "shutdown", "provider@1", "{0}", "%s", "\n"]),
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


def _harmless(line: bytes) -> bool:
    """Not a request that changes the graph: the fuzz must not stop what it checks is running."""
    request = _request(line) or {}
    command, target = request.get("command"), request.get("target")
    if command == "shutdown":
        return False
    return not (command in ("start", "stop", "restart") and isinstance(target, str) and target in UNITS)


_REQUESTS = st.dictionaries(st.sampled_from(["command", "target", "extra"]) | _TEXT, _JSON, max_size=4).map(
    lambda request: json.dumps(request).encode()
)
_LINES = (
    st.one_of(
        _REQUESTS,
        _JSON.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=200),
        st.tuples(_REQUESTS, st.integers(0, 200), st.binary(min_size=1, max_size=4)).map(
            lambda mutation: mutation[0][: mutation[1]] + mutation[2] + mutation[0][mutation[1] :]
        ),
    )
    .map(lambda line: line.replace(b"\n", b" "))
    .filter(_harmless)
)


def test_random_and_adversarial_lines_are_answered_and_the_graph_runs_on(supervisor):
    sup, pids = _running(supervisor)

    for line in ADVERSARIAL:  # each alone, then all on one connection, with a status between
        _assert_answered([line], _exchange(sup, [line]))
    lines = [x for line in ADVERSARIAL for x in (line, b'{"command": "status"}')]
    _assert_answered(lines, _exchange(sup, lines))

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(_LINES, min_size=1, max_size=6))
    def random_lines(lines: list[bytes]) -> None:
        _assert_answered(lines, _exchange(sup, lines))

    random_lines()
    _assert_graph_unharmed(sup, pids)
    assert not sup.events("supervisor", "error"), sup.events("supervisor", "error")
    assert sup.stop() == 0


def test_partial_over_long_and_many_lines(supervisor):
    sup, pids = _running(supervisor)

    with _connect(sup) as partial:  # half a line, left open while another client is served
        partial.sendall(b'{"command": "sta')
        _assert_answered([b'{"command": "status"}'], _exchange(sup, [b'{"command": "status"}']))
        partial.sendall(b'tus"}\n')
        assert json.loads(partial.makefile("rb").readline())["ok"]
    with _connect(sup) as closed:  # half a line, then gone
        closed.sendall(b'{"command": "stop", "target": "prov')

    with _connect(sup) as long:  # over the limit: an error, then the connection is closed
        long.sendall(b'{"command": "status"}\n' + b" " * (LIMIT + 1))
        reader = long.makefile("rb")
        assert json.loads(reader.readline())["ok"]
        assert json.loads(reader.readline()) == {
            "ok": False,
            "error": f"request line longer than {LIMIT} bytes: connection closed",
        }
        assert _read_to_end(long) == 0

    many = [b'{"command": "status"}'] * 3000  # ~66 KB of requests in one write
    answers = _exchange(sup, many)
    assert len(answers) == 3000 and all(a["ok"] for a in answers)
    _assert_graph_unharmed(sup, pids)
    assert sup.stop() == 0


def test_a_client_that_never_reads_is_dropped_without_blocking_anyone(supervisor):
    sup, pids = _running(supervisor)
    sent = 4000
    with _connect(sup) as deaf:
        deaf.sendall(b'{"command": "status"}\n' * sent)  # and never reads what comes back
        _assert_graph_unharmed(sup, pids)  # others are served meanwhile
        dropped = sup.wait_event("supervisor", "dropped", timeout=SEND_TIMEOUT + 15)
        assert dropped["message"] == (
            f"a control client did not read its answer within {format_duration(SEND_TIMEOUT)}: "
            "connection closed"
        )
        received = _read_to_end(deaf)  # what was already on its way, then the end: nothing queued
    assert 0 < received < sent
    _assert_graph_unharmed(sup, pids)
    assert sup.stop() == 0


def test_more_clients_than_served_at_once_are_refused_one_by_one(supervisor):
    sup, pids = _running(supervisor)
    idle = []
    try:
        for _ in range(MAX_CLIENTS):  # each answered once, so each is being served
            sock = _connect(sup)
            idle.append(sock)
            sock.sendall(b'{"command": "status"}\n')
            assert json.loads(sock.makefile("rb").readline())["ok"]
        with _connect(sup) as extra:
            assert json.loads(extra.makefile("rb").readline()) == {
                "ok": False,
                "error": f"too many control connections ({MAX_CLIENTS} open): try again later",
            }
            assert _read_to_end(extra) == 0
    finally:
        for sock in idle:
            sock.close()
    _assert_graph_unharmed(sup, pids)
    assert sup.stop() == 0
