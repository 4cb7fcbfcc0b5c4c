"""``supervisor check CAPABILITY``: the provider's check, run now (its interval is an hour), one
line of result, exit 0 passed, 1 failed (and the capability is lost and its oneshot re-run, as
after a failed periodic check), 2 when there is nothing to check, saying what to do."""

from examples.demo.stack import wait_until

GRAPH = """
version = 1
[services.loader]
kind = "oneshot"
command = ["sh", "-c", "echo loaded > $RUNTIME_DIR/keys"]
provides = ["keys"]
check = { exec = ["sh", "-c", "test -s $RUNTIME_DIR/keys && echo keys present || { echo keys missing; exit 1; }"], interval = "1h" }
[services.db]
command = ["sleep", "600"]
provides = ["sql"]
[services.web]
command = ["sleep", "600"]
requires = ["keys", "sql"]
"""


def test_check_passes_then_fails_and_the_failure_reruns_the_provider(supervisor):
    sup = supervisor(GRAPH)
    sup.wait_event("web", "ready")
    passed = sup.ctl("check", "keys")
    assert passed.returncode == 0, passed.stderr
    verdict, _, output = passed.stdout.rstrip("\n").partition(": keys present")
    assert verdict.startswith("keys: passed (") and verdict.endswith("ms)") and not output
    assert "keys check asked for on the control socket" in sup.wait_event("loader", "check-requested")["message"]
    assert sup.wait_event("loader", "checked")["message"].endswith("asked by supervisor check")

    (sup.runtime_dir / "keys").write_text("")
    failed = sup.ctl("check", "keys")
    assert failed.returncode == 1, failed.stderr
    assert failed.stdout.startswith("keys: failed (") and failed.stdout.endswith("): keys missing\n")
    sup.wait_event("loader", "lost")
    sup.wait_event("loader", "done", count=2)  # re-run, as after a failed periodic check
    wait_until(lambda: sup.ctl("check", "keys").returncode == 0, 20, "keys to pass again")
    assert (sup.runtime_dir / "keys").read_text() == "loaded\n"
    assert sup.stop() == 0


def test_nothing_to_check_is_a_usage_error_that_says_what_to_do(supervisor):
    sup = supervisor(GRAPH)
    sup.wait_event("web", "ready")
    unknown = sup.ctl("check", "nosuch")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "no capability 'nosuch' in this graph (its capabilities: keys, sql)" in unknown.stderr
    no_check = sup.ctl("check", "sql")
    assert no_check.returncode == 2
    assert "sql has no check to run: its provider db declares none (give that service a check" in no_check.stderr
    assert sup.ctl("stop", "loader").returncode == 0
    stopped = sup.ctl("check", "keys")
    assert stopped.returncode == 2
    assert "keys cannot be checked now: its provider loader stopped by request is not running its check" in (
        stopped.stderr
    )
    assert "Traceback" not in unknown.stderr + no_check.stderr + stopped.stderr
    assert sup.stop() == 0
