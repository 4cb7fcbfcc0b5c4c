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
    exit_at = sup.events("flaky", "exit")[0]["epoch"]
    respawn = sup.wait_event("flaky", "started", count=2)["epoch"]
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


FLAKY_CHECK = (
    'n=$(cat "$RUNTIME_DIR/n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$RUNTIME_DIR/n"; '
    'case $n in 2|3|5|6|7) echo "fail $n"; exit 1;; esac'
)


def test_check_retries_counts_failures_in_a_row(supervisor):
    """retries = 3: two failures and a pass lose nothing; the third failure in a row loses it."""
    sup = supervisor(f"""
    version = 1
    [services.svc]
    command = ["sleep", "60"]
    provides = ["svc"]
    check = {{ exec = ["sh", "-c", '{FLAKY_CHECK}'], interval = "50ms", retries = 3 }}
    [services.user]
    command = ["sleep", "60"]
    requires = ["svc"]
    """)
    failed = sup.wait_event("svc", "check-failed", timeout=20)
    assert failed["message"] == "check failed (exec sh -c " + FLAKY_CHECK + "): fail 7"
    retries = [e["message"].rsplit("; ", 1)[1] for e in sup.events("svc", "check-retry")]
    assert retries[:4] == ["1 of 3 failures in a row", "2 of 3 failures in a row"] * 2
    assert len(sup.events("svc", "lost")) == 1 and len(sup.events("user", "degraded")) == 1
    sup.wait_event("svc", "ready", count=2)  # restarted: the check passes again from run 8 on
    assert sup.stop() == 0


def test_check_start_period_does_not_count_a_slow_start(supervisor):
    sup = supervisor("""
    version = 1
    [services.slow]
    command = ["sh", "-c", "sleep 1; touch $RUNTIME_DIR/up; exec sleep 60"]
    provides = ["slow"]
    check = { file = "${RUNTIME_DIR}/up", interval = "100ms", start_period = "5s" }
    [services.user]
    command = ["sleep", "60"]
    requires = ["slow"]
    """)
    sup.wait_event("user", "ready", timeout=15)

    def check_passed():
        (slow,) = [c for c in sup.status()["capabilities"] if c["name"] == "slow"]
        return slow["last_check"] and slow["last_check"]["ok"]

    wait_until(check_passed, timeout=15, what="a passing check")
    retry = sup.events("slow", "check-retry")[0]["message"]
    assert retry.endswith("does not exist; not counted within start_period 5s")
    assert not sup.events("slow", "check-failed") and sup.unit_status("slow")["restarts"] == 0
    (sup.runtime_dir / "up").unlink()  # once a check passed, the start is over: this one counts
    assert "does not exist" in sup.wait_event("slow", "check-failed")["message"]
    assert sup.stop() == 0
