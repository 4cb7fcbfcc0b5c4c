"""Zombie reaping for when the supervisor is PID 1 (a container's entrypoint).

Orphans are re-parented to PID 1 and must be reaped, but a blanket ``waitpid(-1)`` would steal
the exit status of the children trio is waiting for. So: peek with ``waitid(WNOWAIT)``, and reap
only pids the supervisor did not start. When the peek shows one of ours (trio will reap it), the
remaining zombies are found in ``/proc`` instead.
"""

import os
import signal

import trio

from supervisor.runtime.children import Children
from supervisor.runtime.proc import all_procs

_SWEEP_INTERVAL = 1.0


def reap_orphans(children: Children) -> list[int]:
    """Reap every exited child that is not one of ours; return their pids."""
    if children.spawning:
        return []  # a child that just started may not be registered yet
    reaped = []
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return reaped
        if info is None or info.si_pid == 0:
            return reaped
        if info.si_pid in children.pids:
            return reaped + _reap_listed_zombies(children)
        os.waitpid(info.si_pid, 0)
        reaped.append(info.si_pid)


def _reap_listed_zombies(children: Children) -> list[int]:
    me = os.getpid()
    reaped = []
    for stat in all_procs():
        if stat.state == "Z" and stat.ppid == me and stat.pid not in children.pids:
            try:
                if os.waitpid(stat.pid, os.WNOHANG)[0]:
                    reaped.append(stat.pid)
            except ChildProcessError:
                pass
    return reaped


async def reap_forever(children: Children) -> None:
    """Reap on every SIGCHLD, and sweep now and then for zombies left by a race with a spawn."""
    with trio.open_signal_receiver(signal.SIGCHLD) as signals:
        while True:
            reap_orphans(children)
            with trio.move_on_after(_SWEEP_INTERVAL):
                await signals.__anext__()
