"""The runtime's decisions in time, in-process on trio's MockClock (see ``tests/helpers/simulated.py``).

Restart policy, backoff, crash-loop protection, restart_window, start_timeout, stop order,
stop_timeout, capabilities lost and dependents degraded, a critical failure, sd_notify readiness:
each test runs the real ``Runtime`` and ``supervise`` against simulated processes and asserts the
events and the exact instants at which they happen.
"""

import signal

import pytest
import trio

from supervisor.status import CapabilityState
from tests.helpers.simulated import Run, exits, graceful, serve, simulate, stubborn


def until(seconds: float):
    """A scenario: let the graph run ``seconds`` of the mock clock, then shut it down."""

    async def scenario(run: Run) -> None:
        await trio.sleep(seconds)

    return scenario


CRASH_LOOP = """
version = 1
[services.crash]
command = ["crash"]
provides = ["keys"]
backoff = { initial = "100ms", max = "200ms" }
max_restarts = 3
restart_window = "1m"
[services.needs]
command = ["serve"]
requires = ["keys"]
"""


async def crash(proc) -> int:
    await proc.say("attempt")
    await proc.say("agent socket refused", "stderr")
    return 1


def test_first_restart_at_once_then_backoff_doubling_to_max_then_failed(tmp_path):
    programs = {"crash": crash, "serve": serve}
    run = simulate(tmp_path, CRASH_LOOP, programs, until(10))
    events = run.events
    assert events.at("crash", "started") == pytest.approx([0, 0, 0.1, 0.3])
    assert [e["message"] for e in events.of("crash") if e["event"] in ("restart", "backoff")] == [
        "after exit 1",
        "restarting in 100ms after exit 1",
        "restarting in 200ms after exit 1",
    ]
    failed = events.of("crash", "failed")
    assert [e["at"] for e in failed] == pytest.approx([0.3])
    assert failed[0]["message"] == '3 restarts within 1m; last exit 1: "attempt" / "agent socket refused"'
    (status,) = [u for u in run.rt.status().to_json()["services"] if u["unit"] == "crash"]
    assert (status["state"], status["restarts"], status["last_exit"]) == (
        "failed",
        3,
        {"code": 1, "signal": None},
    )
    # the dependent never starts, and its reason follows the provider down to the root cause
    assert "started" not in events.names("needs")
    assert events.of("needs", "waiting")[-1]["message"] == (
        "waiting for keys (unavailable): "
        'provider crash failed, last exit 1: "attempt" / "agent socket refused"'
    )


@pytest.mark.parametrize(("runs_for", "fails"), [(20, True), (40, False)])
def test_only_restarts_within_restart_window_count(tmp_path, runs_for, fails):
    graph = """
    version = 1
    [services.crash]
    command = ["crash"]
    backoff = { initial = "1s", max = "1s" }
    max_restarts = 2
    restart_window = "1m"
    """
    run = simulate(tmp_path, graph, {"crash": exits(1, after=runs_for)}, until(300), limit=400)
    if fails:  # exits at 20, 40 and 61: the third exit finds two restarts in the last minute
        assert run.events.at("crash", "failed") == [61]
        assert run.events.of("crash", "failed")[0]["message"] == "2 restarts within 1m; last exit 1"
    else:  # exits 40 s apart: never more than one restart in any minute
        assert run.events.of("crash", "failed") == []
        assert run.events.at("crash", "started") == [0, 40, 81, 122, 163, 204, 245, 286]


@pytest.mark.parametrize(
    ("kind", "restart", "code", "then"),
    [
        ("longrun", "on-failure", 0, "stopped"),
        ("longrun", "on-failure", 3, "restart"),
        ("longrun", "always", 0, "restart"),
        ("longrun", "never", 3, "failed"),
        ("oneshot", "never", 3, "failed"),
        ("oneshot", "on-failure", 3, "restart"),
        ("oneshot", "always", 3, "restart"),
        ("oneshot", "always", 0, None),  # done: it holds its capability, no restart, until the shutdown
    ],
)
def test_restart_policy(tmp_path, kind, restart, code, then):
    graph = f"""
    version = 1
    [services.unit]
    kind = "{kind}"
    restart = "{restart}"
    command = ["program"]
    """
    run = simulate(tmp_path, graph, {"program": exits(code, after=1)}, until(10))
    names = run.events.names("unit")
    if kind == "longrun":
        first_run = ["starting", "started", "ready", "exit"]
    else:
        first_run = ["starting", "started", "exit" if code else "done"]
    assert names[: len(first_run)] == first_run
    if then == "restart":
        assert names[len(first_run)] == "restart"
        assert run.events.at("unit", "started")[:2] == [0, 1]  # the first restart is immediate
    elif then is None:
        assert names[len(first_run) :] == ["stopped"]
        assert run.events.at("unit", "stopped") == [10]
    else:
        assert names[len(first_run) :] == [then]
        assert run.events.at("unit", then) == [1]


def test_start_timeout_fails_a_unit_still_waiting_and_names_what_for(tmp_path):
    graph = f"""
    version = 1
    [services.slow]
    command = ["serve"]
    provides = ["thing"]
    ready = {{ file = "{tmp_path}/never", timeout = "5s", interval = "50ms" }}
    [services.needy]
    command = ["serve"]
    requires = ["thing"]
    start_timeout = "300ms"
    [services.patient]
    command = ["serve"]
    requires = ["thing"]
    start_timeout = "10s"
    """
    run = simulate(tmp_path, graph, {"serve": serve}, until(6))
    failed = run.events.of("needy", "failed")
    assert [e["at"] for e in failed] == pytest.approx([0.3])
    assert failed[0]["message"] == (
        "gave up after start_timeout 300ms: waiting for thing (unavailable): provider slow starting"
    )
    assert "starting" not in run.events.names("needy")
    assert run.events.at("slow", "error") == pytest.approx([5])
    assert run.events.of("patient", "failed") == []  # still within its own start_timeout


DEPENDENTS = """
version = 1
[services.db]
command = ["db"]
provides = ["db"]
[services.api1]
command = ["api"]
requires = ["db"]
provides = ["api1"]
[services.api2]
command = ["api"]
requires = ["db"]
provides = ["api2"]
[services.web]
command = ["serve"]
stop_signal = "INT"
requires = ["api1", "api2"]
"""


def test_start_in_dependency_order_and_stop_in_reverse_same_depth_at_once(tmp_path):
    stop_at: list[float] = []

    async def scenario(run: Run) -> None:
        await run.events.next("web", "ready")
        stop_at.append(trio.current_time())

    programs = {"db": graceful(), "api": graceful(after=0.2), "serve": serve}
    run = simulate(tmp_path, DEPENDENTS, programs, scenario)
    events, (t,) = run.events, stop_at
    # each starts once what it requires is ready (a probe-less longrun: up for 200ms)
    assert events.at("db", "started") == [0]
    assert events.at("api1", "started") == events.at("api2", "started") == pytest.approx([0.2])
    assert events.at("web", "started") == pytest.approx([0.4])
    assert t == pytest.approx(0.6)
    # then stops: web first, api1 and api2 together (each takes 200ms), db once both are gone
    assert events.at("web", "stopping") == events.at("web", "stopped") == [t]
    assert events.at("api1", "stopping") == events.at("api2", "stopping") == [t]
    assert events.at("api1", "stopped") == events.at("api2", "stopped") == pytest.approx([t + 0.2])
    assert events.at("db", "stopping") == events.at("db", "stopped") == pytest.approx([t + 0.2])
    assert events.of("web", "stopping")[0]["message"] == "sent SIGINT"
    (web,) = run.children.of("serve")
    assert web.signals == [signal.SIGINT]
    assert run.rt.exit_code == 0


def test_sigkill_after_stop_timeout_and_the_exit_status_says_so(tmp_path):
    graph = """
    version = 1
    [services.stuck]
    command = ["stuck"]
    stop_timeout = "300ms"
    """
    run = simulate(tmp_path, graph, {"stuck": stubborn}, until(1))
    assert run.events.at("stuck", "stopping") == [1]
    killed = run.events.of("stuck", "killed")
    assert [e["at"] for e in killed] == pytest.approx([1.3])
    assert killed[0]["message"] == "still running 300ms after SIGTERM: sent SIGKILL"
    (stuck,) = run.children.of("stuck")
    assert stuck.signals == [signal.SIGTERM, signal.SIGKILL]
    assert run.rt.exit_code == 1  # not a clean stop: something had to be killed


LOST = """
version = 1
[services.loader]
kind = "oneshot"
command = ["load-keys"]
provides = ["keys"]
restart = "never"  # a lost capability re-runs its provider whatever the policy
check = { exec = ["has-keys"], interval = "50ms", timeout = "1s" }
[services.proxy]
command = ["serve"]
requires = ["keys"]
"""


def test_lost_capability_reruns_the_oneshot_while_dependents_degrade_then_recover(tmp_path):
    keys = {"loaded": False}

    async def load_keys(proc) -> int:
        keys["loaded"] = True
        return 0

    async def has_keys(proc) -> int:
        if keys["loaded"]:
            return 0
        await proc.say("the agent holds no keys")
        return 1

    async def scenario(run: Run) -> None:
        await run.events.next("proxy", "ready")  # at 0.2, when the check passes for the fifth time
        await trio.sleep(0.01)
        keys["loaded"] = False
        await run.events.next("proxy", "recovered")
        assert run.children.of("serve")[0].signals == []  # the dependent lived through it

    programs = {"load-keys": load_keys, "has-keys": has_keys, "serve": serve}
    run = simulate(tmp_path, LOST, programs, scenario)
    events = run.events
    lost = events.of("loader", "lost")
    assert [e["at"] for e in lost] == pytest.approx([0.25])  # the next check, 50ms after the one at 0.2
    assert lost[0]["message"] == (
        "capability keys lost: check failed (exec has-keys): the agent holds no keys"
    )
    assert events.of("proxy", "degraded")[0]["message"] == "requires keys (lost): provider loader done"
    assert events.names("loader") == [
        "starting", "started", "done", "available",  # the first run, proven by the check at once
        "check-failed", "lost", "restart",  # the capability lost: the oneshot runs again
        "starting", "started", "done", "available",
        "unavailable", "stopped",  # the shutdown
    ]  # fmt: skip
    assert events.at("proxy", "recovered") == events.at("loader", "available")[1:]
    assert len(run.children.of("serve")) == 1
    assert run.rt.capabilities["keys"].state is CapabilityState.UNAVAILABLE  # after the shutdown


REPORTED = """
version = 1
[services.loader]
kind = "oneshot"
command = ["load-keys"]
provides = ["keys"]
check = { exec = ["has-keys"], interval = "1h", timeout = "1s" }
backoff = { initial = "100ms" }
max_restarts = 3
restart_window = "1m"
[services.proxy]
command = ["serve"]
requires = ["keys"]
"""


def test_a_report_checks_at_once_and_each_loss_of_what_held_is_repaired_at_once(tmp_path):
    """Keys wiped five times in a minute, each time reported by their consumer: each report runs
    the check at that instant (not in an hour), and each loss re-runs the loader at that instant,
    with no backoff and no crash-loop count (max_restarts is 3): what held was lost, nothing crashed."""
    keys = {"loaded": False}
    reported: list[float] = []

    async def load_keys(proc) -> int:
        keys["loaded"] = True
        return 0

    async def has_keys(proc) -> int:
        return 0 if keys["loaded"] else 1

    async def scenario(run: Run) -> None:
        await run.events.next("proxy", "ready")
        for wipe in range(5):
            await trio.sleep(1)
            keys["loaded"] = False
            reported.append(trio.current_time())
            run.children.of("serve")[0].notify(X_CAPABILITY_BROKEN="keys", X_REASON="no identities")
            await run.events.next("loader", "available", count=wipe + 2)

    programs = {"load-keys": load_keys, "has-keys": has_keys, "serve": serve}
    run = simulate(tmp_path, REPORTED, programs, scenario)
    events = run.events
    assert events.at("loader", "check-requested") == pytest.approx(reported)
    assert events.at("loader", "lost") == pytest.approx(reported)
    assert events.at("loader", "started")[1:] == pytest.approx(reported)  # re-run at once, every time
    assert events.of("loader", "check-requested")[0]["message"] == "keys reported broken by proxy: no identities"
    assert not events.of("loader", "backoff") and not events.of("loader", "failed")
    assert run.rt.units["loader"].restarts == 5


def test_failed_check_of_a_longrun_restarts_it_whatever_the_policy(tmp_path):
    alive = tmp_path / "alive"

    async def svc(proc) -> int:
        alive.touch()
        await trio.sleep_forever()

    async def scenario(run: Run) -> None:
        await run.events.next("svc", "ready")
        await trio.sleep(1)
        alive.unlink()
        await run.events.next("svc", "ready", count=2)

    graph = f"""
    version = 1
    [services.svc]
    command = ["svc"]
    provides = ["svc"]
    restart = "never"
    check = {{ file = "{alive}", interval = "50ms" }}
    """
    run = simulate(tmp_path, graph, {"svc": svc}, scenario)
    failed = run.events.of("svc", "check-failed")
    assert failed[0]["message"] == f"check failed (file {alive}): {alive} does not exist"
    first, second = run.children.of("svc")
    assert first.signals == [signal.SIGTERM] and first.returncode == -signal.SIGTERM
    assert run.rt.units["svc"].restarts == 1
    assert run.events.names("svc") == [
        "starting", "started", "ready", "available",
        "check-failed", "lost", "stopping", "restart",  # stopped (SIGTERM) and started again
        "starting", "started", "ready", "available",
        "stopping", "unavailable", "stopped",  # the shutdown
    ]  # fmt: skip


def test_critical_failure_stops_the_graph_with_its_exit_code(tmp_path):
    graph = """
    version = 1
    [services.core]
    command = ["core"]
    critical = true
    max_restarts = 1
    [services.other]
    command = ["serve"]
    """

    async def scenario(run: Run) -> None:
        await run.rt.shutdown_requested.wait()

    run = simulate(tmp_path, graph, {"core": exits(3, after=0.3), "serve": serve}, scenario)
    assert run.events.at("core", "failed") == pytest.approx([0.6])  # one restart allowed
    assert [e["message"] for e in run.events.of("supervisor", "failed")] == [
        "critical service core failed (1 restarts within 1m; last exit 3): stopping the graph"
    ]
    assert run.events.at("other", "stopped") == pytest.approx([0.6])
    assert run.rt.exit_code == 3  # the child's own code, as tini passes it on


NOTIFIED = """
version = 1
[services.daemon]
command = ["daemon"]
provides = ["daemon"]
ready = { notify = true, timeout = "2s" }
restart = "never"
"""


def test_notify_readiness_and_its_timeout(tmp_path):
    async def daemon(proc) -> int:
        await trio.sleep(0.5)
        proc.notify(STATUS="listening on 2222", READY="1")
        await trio.sleep_forever()

    run = simulate(tmp_path, NOTIFIED, {"daemon": daemon}, until(1))
    assert [(e["event"], e["at"]) for e in run.events.of("daemon") if e["event"] in ("status", "ready")] == [
        ("status", 0.5),
        ("ready", 0.5),
    ]
    assert run.events.of("daemon", "ready")[0]["message"] == "READY=1 (listening on 2222)"

    (tmp_path / "silent").mkdir()
    silent = simulate(tmp_path / "silent", NOTIFIED, {"daemon": serve}, until(3))
    error = silent.events.of("daemon", "error")
    assert [e["at"] for e in error] == [2]
    assert error[0]["message"] == "not ready within 2s: no READY=1 on NOTIFY_SOCKET"
    assert silent.children.of("daemon")[0].signals == [signal.SIGTERM]
    assert silent.events.names("daemon")[-1] == "failed"
