"""A lost capability end to end, with real processes: a real exec check notices that the keys are
gone, the oneshot runs again, its dependent degrades and recovers without being restarted, and the
status says so. The same decisions in time, to the instant, are in test_supervise.py."""

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
