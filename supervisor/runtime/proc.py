"""What ``/proc`` says about processes: name, state, parent, group, and start time.

The start time (clock ticks after boot) is what makes a pid an identity: a pid can be reused
by an unrelated process, a (pid, start time) pair cannot within one boot.
"""

from collections.abc import Iterator
from pathlib import Path

import attrs

_PROC = Path("/proc")


@attrs.frozen
class ProcStat:
    pid: int
    name: str
    state: str
    ppid: int
    pgrp: int
    start: int

    @property
    def alive(self) -> bool:
        """Still running: a zombie holds no port, socket or file any more."""
        return self.state not in ("Z", "X")


def proc_stat(pid: int) -> ProcStat | None:
    """``/proc/PID/stat``, or None once the process is gone (or if it cannot be read)."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    name, _, rest = text.partition(" (")[2].rpartition(")")  # a name may hold spaces and ')'
    fields = rest.split()
    return ProcStat(pid, name, fields[0], int(fields[1]), int(fields[2]), int(fields[19]))


def all_procs() -> Iterator[ProcStat]:
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat is not None:
                yield stat
