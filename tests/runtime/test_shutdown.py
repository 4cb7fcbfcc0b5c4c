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
