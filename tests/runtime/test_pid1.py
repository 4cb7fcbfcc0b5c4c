"""As PID 1 (a container entrypoint): orphans reaped, managed exit statuses not stolen; signals
forwarded."""

import signal

from examples.demo.stack import wait_until

PID1 = """
version = 1
[services.orphans]
command = ["sh", "-c", "for i in 1 2 3 4 5; do (sleep 0.1 &) ; done; exec sleep 60"]
[services.exits]
kind = "oneshot"
command = ["sh", "-c", "sleep 0.4; echo exiting; exit 3"]
restart = "never"
[services.census]
kind = "oneshot"
command = ["sh", "-c", "sleep 1; echo pid1=$(cat /proc/1/comm); echo zombies=$(grep -l '^State:.Z' /proc/[0-9]*/status | wc -l)"]
"""


def test_reaps_orphans_without_stealing_exit_status(supervisor):
    sup = supervisor(PID1, prefix=("unshare", "--pid", "--fork", "--mount-proc"))
    sup.wait_event("census", "done", timeout=15)
    wait_until(lambda: len(sup.output("census")) == 2, what="census output")
    assert sup.output("census")[0].startswith("pid1=python")
    assert sup.output("census")[1] == "zombies=0"
    assert sup.wait_event("exits", "failed")["message"] == "exit 3"
    assert sup.ctl("shutdown").returncode == 0
    assert sup.wait() == 0


def test_forwards_signals_it_does_not_handle(supervisor):
    sup = supervisor("""
    version = 1
    [services.usr1]
    command = ["sh", "-c", "trap 'echo got USR1' USR1; while true; do sleep 0.05; done"]
    """)
    sup.wait_event("usr1", "ready")
    sup.signal(signal.SIGUSR1)
    wait_until(lambda: "got USR1" in sup.output("usr1"), what="the forwarded USR1")
    assert sup.stop() == 0
