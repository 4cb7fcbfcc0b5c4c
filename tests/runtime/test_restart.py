"""Restart policies, backoff, crash-loop protection, and capabilities lost and recovered."""

import time

from conftest import wait_until

RESTARTS = """
version = 1
[services.crash]
command = ["sh", "-c", "echo attempt; echo agent socket refused >&2; exit 1"]
provides = ["keys"]
backoff = { initial = "100ms", max = "200ms" }
max_restarts = 3
restart_window = "1m"
[services.needs]
command = ["sleep", "60"]
requires = ["keys"]
[services.clean]
command = ["true"]
restart = "on-failure"
"""


def test_backoff_then_failed_with_reason_and_root_cause(supervisor):
    sup = supervisor(RESTARTS)
    failed = sup.wait_event("crash", "failed")["message"]
    assert "3 restarts within 1m" in failed and "exit 1" in failed and "agent socket refused" in failed
    assert len(sup.output("crash")) == 8  # four runs, two lines each
    restarts = [
        r for r in sup.records if r.get("unit") == "crash" and r.get("event") in ("restart", "backoff")
    ]
    assert [r["event"] for r in restarts] == ["restart", "backoff", "backoff"]  # first restart is immediate
    assert "restarting in 100ms" in restarts[1]["message"] and "restarting in 200ms" in restarts[2]["message"]
    # The dependent's reason follows its provider down to the root cause (logged just after it).
    waiting = wait_until(
        lambda: [
            e["message"] for e in sup.events("needs", "waiting") if "provider crash failed" in e["message"]
        ],
        what="needs waiting on a failed provider",
    )[-1]
    assert "provider crash failed, last exit 1: " in waiting and '"agent socket refused"' in waiting
    assert sup.wait_event("clean", "stopped")["message"] == "exit 0"
    status = sup.unit_status("crash")
    assert (
        status["state"] == "failed"
        and status["restarts"] == 3
        and status["last_exit"] == {"code": 1, "signal": None}
    )
    assert sup.stop() == 0


def test_restart_latency_first_restart_immediate(supervisor):
    sup = supervisor("""
    version = 1
    [services.flaky]
    command = ["sh", "-c", "sleep 0.3; exit 2"]
    """)
    sup.wait_event("flaky", "exit")
    exit_at = sup.events("flaky", "exit")[0]["time"]
    respawn = sup.wait_event("flaky", "started", count=2)["time"]
    assert respawn - exit_at < 0.5
    assert sup.stop() == 0


LOST = """
version = 1
[services.loader]
kind = "oneshot"
command = ["sh", "-c", "echo loaded > $RUNTIME_DIR/keys"]
provides = ["keys"]
check = { exec = ["test", "-s", "${RUNTIME_DIR}/keys"], interval = "50ms", timeout = "1s" }
backoff = { initial = "50ms" }
[services.proxy]
command = ["sleep", "60"]
requires = ["keys"]
"""


def test_lost_capability_reruns_oneshot_and_dependents_degrade_then_recover(supervisor):
    sup = supervisor(LOST)
    sup.wait_event("proxy", "ready")
    proxy_pid = sup.unit_status("proxy")["pid"]
    (sup.runtime_dir / "keys").write_text("")  # the keys are gone: the check must notice
    lost = sup.wait_event("loader", "lost")
    assert "capability keys lost" in lost["message"] and "check failed" in lost["message"]
    sup.wait_event("proxy", "degraded")
    sup.wait_event("loader", "done", count=2)  # re-run
    sup.wait_event("proxy", "recovered")
    assert sup.index("loader", "lost") < sup.index("proxy", "degraded")
    assert sup.unit_status("proxy")["pid"] == proxy_pid  # not killed
    assert (sup.runtime_dir / "keys").read_text() == "loaded\n"
    status = sup.status()
    keys = next(c for c in status["capabilities"] if c["name"] == "keys")
    assert keys["state"] == "available" and keys["provider"] == "loader" and keys["last_check"]["ok"]
    assert sup.stop() == 0


def test_failed_longrun_check_restarts_it(supervisor):
    sup = supervisor("""
    version = 1
    [services.svc]
    command = ["sh", "-c", "touch $RUNTIME_DIR/alive; exec sleep 60"]
    provides = ["svc"]
    check = { file = "${RUNTIME_DIR}/alive", interval = "50ms" }
    """)
    sup.wait_event("svc", "ready")
    time.sleep(0.2)
    (sup.runtime_dir / "alive").unlink()
    assert "does not exist" in sup.wait_event("svc", "check-failed")["message"]
    sup.wait_event("svc", "ready", count=2)
    assert sup.unit_status("svc")["restarts"] == 1
    assert sup.stop() == 0
