"""The typed status records and the feed's bounds, in-process.

The records are what the control protocol carries: whatever the supervisor writes must read
back as the same value. The feed is what a watcher can make the supervisor hold: it must stay
bounded however far behind the watcher falls, and say what was lost.
"""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.protocol import encode
from supervisor.runtime.feed import LINES_KEPT, WATCH_BUFFER, Feed, Ring, Watcher
from supervisor.status import (
    CapabilityState,
    CapabilityStatus,
    CheckResult,
    Event,
    Exit,
    GraphStatus,
    Lost,
    OutputLine,
    UnitState,
    UnitStatus,
    update_from_json,
    update_to_json,
)

names = st.text("abcdefgh-", min_size=1, max_size=8)
times = st.floats(0, 2e9).map(lambda t: round(t, 3))
exits = st.builds(Exit, st.integers(-64, 255))
units = st.builds(
    UnitStatus,
    unit=names,
    service=names,
    replica=st.none() | st.integers(1, 9),
    kind=st.sampled_from(["longrun", "oneshot"]),
    state=st.sampled_from(UnitState),
    reason=st.text(max_size=40),
    pid=st.none() | st.integers(1, 1 << 22),
    since=times,
    started_at=st.none() | times,
    restarts=st.integers(0, 99),
    last_exit=st.none() | exits,
    status=st.text(max_size=10),
    provides=st.lists(names, max_size=3).map(tuple),
    requires=st.lists(names, max_size=3).map(tuple),
    output=st.lists(st.text(max_size=20), max_size=5).map(tuple),
    wanted=st.booleans(),
    depth=st.integers(0, 9),
    cause=st.text(max_size=20),
)
checks = st.builds(CheckResult, st.booleans(), times, st.text(max_size=20), st.none() | times)
capabilities = st.builds(
    CapabilityStatus,
    name=names,
    state=st.sampled_from(CapabilityState),
    provider=st.none() | names,
    providers=st.lists(names, max_size=3).map(tuple),
    consumers=st.lists(names, max_size=3).map(tuple),
    since=times,
    last_check=st.none() | checks,
)
updates = st.one_of(
    units,
    capabilities,
    st.builds(Event, st.integers(1, 10**6), times, names, names, st.text(max_size=30)),
    st.builds(OutputLine, times, names, st.sampled_from(["stdout", "stderr"]), st.text(max_size=30)),
    st.builds(
        GraphStatus,
        graph=names,
        pid=st.integers(1, 1 << 22),
        stopping=st.booleans(),
        services=st.lists(units, max_size=3).map(tuple),
        capabilities=st.lists(capabilities, max_size=3).map(tuple),
        file=st.text(max_size=20),
        profile=st.none() | names,
        offers=st.lists(names, max_size=2).map(tuple),
    ),
    st.builds(Lost, st.integers(1, 10**6)),
)


@settings(max_examples=200, deadline=None)
@given(updates)
def test_every_update_reads_back_as_the_value_it_was(update):
    line = encode(update_to_json(update))
    assert line.endswith(b"\n") and b"\n" not in line[:-1]  # one update, one line
    assert update_from_json(json.loads(line)) == update


def test_an_exit_by_any_signal_reads_back():
    for code in (0, 1, 255, -9, -15, -34, -35, -64):
        assert Exit.from_json(json.loads(json.dumps(Exit(code).to_json()))) == Exit(code)


def _unit(name: str, state: UnitState, wanted: bool = True, reason: str = "") -> UnitStatus:
    return UnitStatus(name, name, None, "longrun", state, reason=reason, wanted=wanted)


def test_health_is_every_wanted_unit_up_and_every_offer_available():
    status = GraphStatus(
        graph="g",
        pid=1,
        stopping=False,
        services=(
            _unit("db", UnitState.READY),
            _unit("job", UnitState.DONE),
            _unit("web", UnitState.STOPPED, wanted=False, reason="stopped by request"),
        ),
        capabilities=(
            CapabilityStatus("sql", CapabilityState.AVAILABLE),
            CapabilityStatus("http", CapabilityState.UNAVAILABLE),
        ),
        offers=("sql",),
    )
    assert status.problems() == []
    assert status.problems(("sql",)) == []
    assert status.problems(("http", "nope")) == [
        "capability http is unavailable",
        "capability nope has no provider running here",
    ]
    broken = GraphStatus(
        "g",
        1,
        False,
        (
            _unit("db", UnitState.FAILED, reason="exit 1"),
            _unit("job", UnitState.WAITING, reason="waiting for sql"),
        ),
        (CapabilityStatus("sql", CapabilityState.LOST),),
        offers=("sql",),
    )
    assert broken.problems() == [
        "db is failed: exit 1",
        "job is waiting: waiting for sql",
        "capability sql is lost",
    ]


def test_a_ring_keeps_the_last_items_within_its_count_and_size():
    ring = Ring(count=3, size=100)
    for n in range(10):
        ring.append(n, 10)
    assert ring.last(5) == [7, 8, 9]
    for n in range(10, 14):
        ring.append(n, 40)
    assert ring.last(5) == [12, 13]  # 80 bytes: a third would be 120
    ring.append("huge", 1000)
    assert ring.last(5) == ["huge"]  # one item is always kept, however large
    assert ring.last(0) == []


def test_a_unit_keeps_its_last_lines_only():
    feed = Feed(clock=lambda: 1.0)
    for n in range(LINES_KEPT + 50):
        feed.output("web", "stdout", f"line {n}")
    kept = feed.recent_lines(["web"], LINES_KEPT * 2)
    assert len(kept) == LINES_KEPT and kept[-1].line == f"line {LINES_KEPT + 49}"


def test_a_watcher_that_falls_behind_loses_updates_not_memory():
    """A watcher's queue never holds more than WATCH_BUFFER bytes: what does not fit is counted,
    the queue is dropped, and the watcher is told how much it lost (then brought up to date)."""
    feed = Feed(clock=lambda: 1.0)
    watcher = Watcher(status=True, events=True, output=frozenset({"web"}))
    feed.watchers.add(watcher)
    line = "x" * 1000
    pushed = 3 * WATCH_BUFFER // len(line)
    for _ in range(pushed):
        feed.output("web", "stdout", line)
        assert sum(map(len, watcher.queue)) <= WATCH_BUFFER
    feed.event("web", "ready", "up")
    lost, changed, _, queued = watcher.take()
    assert lost == pushed + 1 and queued == [] and changed == {"web"}
    feed.event("web", "exit", "exit 1")  # after the loss is handed over, it starts afresh
    lost, changed, _, queued = watcher.take()
    assert lost == 0 and len(queued) == 1 and json.loads(queued[0])["event"]["event"] == "exit"


def test_a_watcher_gets_only_what_it_asked_for():
    feed = Feed(clock=lambda: 1.0)
    events_only = Watcher(status=False, events=True, output=frozenset())
    lines_only = Watcher(status=False, events=False, output=frozenset({"db"}))
    feed.watchers.update({events_only, lines_only})
    feed.output("web", "stdout", "not followed")
    feed.output("db", "stderr", "followed")
    feed.event("db", "ready", "")
    feed.touch(units=["db"], capabilities=["sql"])
    assert [json.loads(line) for line in events_only.take()[3]] == [
        {"event": {"seq": 1, "time": 1.0, "unit": "db", "event": "ready", "message": ""}}
    ]
    lost, changed_units, changed_capabilities, queued = lines_only.take()
    assert (changed_units, changed_capabilities) == (set(), set())  # it asked for no status
    assert [json.loads(line)["output"]["line"] for line in queued] == ["followed"]


def test_a_status_from_an_older_supervisor_reads_with_defaults():
    """A client newer than the running supervisor (just upgraded) still reads its status: the
    fields added since keep their defaults."""
    old = {
        "graph": "g",
        "pid": 7,
        "stopping": False,
        "services": [
            {
                "name": "db",
                "unit": "db",
                "replica": None,
                "kind": "longrun",
                "state": "ready",
                "pid": 9,
                "restarts": 0,
                "last_exit": None,
                "since": 1.0,
                "uptime": 2.0,
                "reason": "up",
                "status": "",
                "provides": ["sql"],
                "output": [],
            },
        ],
        "capabilities": [{"name": "sql", "state": "available", "provider": "db", "last_check": None}],
    }
    status = GraphStatus.from_json(old)
    assert status.services[0].state is UnitState.READY and status.services[0].requires == ()
    assert status.capabilities[0].provider == "db" and status.offers == ()
