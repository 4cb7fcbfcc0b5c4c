"""The process groups a run started, recorded in its runtime directory so that the next run can
stop them if this one is killed (``kill -9``, OOM) before it could.

Every process the supervisor starts leads its own group, so a group is named by its leader's
pid, and recorded with the leader's start time: after a crash, a recorded group is stopped only
if its leader is still that very process, never an unrelated one that got the pid since. The
record also names the boot and the pid namespace, whose pids mean nothing elsewhere.
"""

import json
import os
import signal
import time
from pathlib import Path

import attrs

from supervisor.graph.durations import format_duration
from supervisor.runtime.log import Log
from supervisor.runtime.proc import all_procs, proc_stat

FILE = "groups.json"
_GONE_WITHIN = 5.0
"""How long a killed leftover may take to die before the new run starts anyway (and says so)."""


def _pid_space() -> str:
    """Where pids mean the same: this boot and this pid namespace."""
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return f"{boot} {os.stat('/proc/self/ns/pid').st_ino}"


@attrs.define
class GroupRecord:
    """``RUNTIME_DIR/groups.json``: the groups of this run, rewritten (atomically) as they change."""

    path: Path
    _groups: dict[int, int] = attrs.field(factory=dict)  # leader pid -> its start time
    _space: str = attrs.field(factory=_pid_space)

    def add(self, pid: int) -> None:
        stat = proc_stat(pid)
        if stat is not None:
            self._groups[pid] = stat.start
            self._save()

    def remove(self, pid: int) -> None:
        if self._groups.pop(pid, None) is not None:
            self._save()

    def _save(self) -> None:
        """Best effort: a record that cannot be written costs only the clean-up after a crash,
        which must not cost a unit its start."""
        data = {"pid_space": self._space, "groups": [[pid, start] for pid, start in self._groups.items()]}
        temporary = self.path.with_name(self.path.name + ".new")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(temporary, flags, 0o600)
            with open(fd, "w") as file:
                json.dump(data, file)
            os.replace(temporary, self.path)
        except OSError:
            pass

    def _previous(self) -> dict[int, int]:
        """The groups a previous run recorded here, if its pids are this machine's pids."""
        try:
            data = json.loads(self.path.read_text())
            if data["pid_space"] != self._space:
                return {}
            return {int(pid): int(start) for pid, start in data["groups"]}
        except (OSError, ValueError, TypeError, KeyError):
            return {}  # none, or not one this supervisor wrote

    def stop_leftovers(self, log: Log) -> None:
        """SIGKILL every recorded group whose leader is still the recorded process (running, or
        a zombie that still holds its pid, and so its group's), and wait until they are gone.

        Only a run that died without stopping its units leaves any: the supervisor, alive,
        stops every group it started. They get no stop_signal: nothing supervised them since,
        and the new run needs what they hold (ports, sockets) now.
        """
        procs = {p.pid: p for p in all_procs()}
        killed = set()
        for pid, start in self._previous().items():
            leader = procs.get(pid)
            if leader is None or leader.start != start:
                continue  # gone, or the pid is another process's now
            if not any(p.alive and p.pgrp == pid for p in procs.values()):
                continue
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError as error:
                message = f"cannot stop process group {pid} ({leader.name!r}): {error.strerror}"
                log.event("supervisor", "leftover", message)
                continue
            killed.add(pid)
            message = f"killed process group {pid} ({leader.name!r}), left running by a previous run"
            log.event("supervisor", "leftover", message)
        deadline = time.monotonic() + _GONE_WITHIN
        while killed and time.monotonic() < deadline:
            if not any(p.alive and p.pgrp in killed for p in all_procs()):
                return
            time.sleep(0.02)
        if killed:
            log.event(
                "supervisor",
                "leftover",
                f"process groups {sorted(killed)} still there {format_duration(_GONE_WITHIN)} after SIGKILL",
            )
