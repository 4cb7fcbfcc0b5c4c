"""Check retries and start_period with real processes and probes: which failures count."""

from examples.demo.stack import wait_until

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
