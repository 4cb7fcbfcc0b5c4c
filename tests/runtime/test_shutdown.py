"""Shutdown with real processes: stop_timeout's SIGKILL to the whole group, the second SIGINT, and no
survivors (the order and the timeouts, to the instant, are in test_supervise.py)."""

import os
import signal
import time

from examples.demo.stack import wait_until


def test_sigkill_after_stop_timeout_and_whole_group(supervisor):
    sup = supervisor("""
    version = 1
    [services.stubborn]
    command = ["sh", "-c", "trap '' TERM; sleep 60 & sleep 60 & wait"]
    stop_timeout = "300ms"
    """)
    sup.wait_event("stubborn", "ready")
    wait_until(lambda: len(sup.leftovers()) == 3, what="three processes")
    assert sup.stop() == 1  # not clean: something had to be killed
    assert "SIGKILL" in sup.events("stubborn", "killed")[0]["message"]
    assert sup.leftovers() == []


def test_second_sigint_kills_at_once(supervisor):
    sup = supervisor("""
    version = 1
    [services.stubborn]
    command = ["sh", "-c", "trap '' TERM INT; sleep 60 & wait"]
    stop_timeout = "30s"
    """)
    sup.wait_event("stubborn", "ready")
    sup.signal(signal.SIGINT)
    sup.wait_event("stubborn", "stopping")
    started = time.monotonic()
    sup.signal(signal.SIGINT)
    assert sup.wait() == 130
    assert time.monotonic() - started < 3
    assert sup.leftovers() == []


def test_no_survivors_when_the_supervisor_dies_of_sigkill_of_a_child(supervisor):
    sup = supervisor("""
    version = 1
    [services.victim]
    command = ["sh", "-c", "sleep 60 & exec sleep 61"]
    restart = "never"
    [services.other]
    command = ["sleep", "60"]
    """)
    sup.wait_event("victim", "ready")
    pid = sup.unit_status("victim")["pid"]
    os.kill(pid, signal.SIGKILL)
    assert "SIGKILL" in sup.wait_event("victim", "failed")["message"]
    wait_until(lambda: len(sup.leftovers()) == 1, what="the group's leftover killed with its leader")
    assert sup.stop() == 0
    assert sup.leftovers() == []


def test_critical_failure_stops_the_graph_with_its_exit_code(supervisor):
    """As tini and docker compose --exit-code-from do: the child's code, not a bare 1."""
    sup = supervisor("""
    version = 1
    [services.core]
    command = ["sh", "-c", "sleep 0.3; echo dying; exit 3"]
    critical = true
    max_restarts = 1
    [services.other]
    command = ["sleep", "60"]
    """)
    assert sup.wait() == 3
    failed = sup.events("core", "failed")[0]["message"]
    assert "exit 3" in failed and "dying" in failed
    assert sup.events("other", "stopped")
    assert sup.events("supervisor", "exit")[-1]["message"] == "exit status 3"


def test_a_critical_service_killed_by_a_signal_exits_128_plus_it(supervisor):
    sup = supervisor("""
    version = 1
    [services.core]
    command = ["sh", "-c", "kill -KILL $$$$"]  # $$ is a literal $
    critical = true
    restart = "never"
    """)
    assert sup.wait() == 128 + signal.SIGKILL


def test_a_critical_service_failed_by_its_probe_exits_1(supervisor):
    """The supervisor ended it (a ready probe that never passed): its SIGTERM is not its code."""
    sup = supervisor("""
    version = 1
    [services.core]
    command = ["sleep", "60"]
    ready = { file = "/nonexistent/never", timeout = "300ms", interval = "50ms" }
    critical = true
    restart = "never"
    """)
    assert sup.wait() == 1


def test_exit_when_all_ended_finishes_a_graph_of_oneshots(supervisor):
    sup = supervisor("""
    version = 1
    exit_when = "all-ended"
    [services.migrate]
    kind = "oneshot"
    command = ["sh", "-c", "sleep 0.2; echo migrated"]
    provides = ["schema"]
    check = { exec = ["true"] }
    [services.seed]
    kind = "oneshot"
    command = ["sh", "-c", "echo seeded"]
    requires = ["schema"]
    """)
    assert sup.wait() == 0
    assert sup.output("seed") == ["seeded"]
    assert "every unit ended" in sup.events("supervisor", "finished")[0]["message"]


def test_exit_when_main_ended_passes_its_code_and_stops_the_helpers(supervisor):
    sup = supervisor("""
    version = 1
    exit_when = "main-ended"
    [services.db]
    command = ["sleep", "60"]
    provides = ["db"]
    ready = { exec = ["true"] }
    [services.tests]
    kind = "oneshot"
    main = true
    restart = "never"
    command = ["sh", "-c", "echo ran; exit 4"]
    requires = ["db"]
    """)
    assert sup.wait() == 4
    assert sup.output("tests") == ["ran"]
    assert sup.events("db", "stopped")
    assert "the main service ended" in sup.events("supervisor", "finished")[0]["message"]
