"""One running copy of a service (a *unit*: ``name``, or ``name@N`` with replicas) and its state.

The state machine lives in ``supervise``; this is the record it keeps, which ``status`` reports.
"""

import signal
import time
from collections import deque

import attrs
import trio

from supervisor.graph.model import Service

PARKED = frozenset({"failed", "stopped"})
_TAIL = 5


@attrs.frozen
class Exit:
    """How a process ended: an exit code, or the signal that killed it."""

    code: int

    def describe(self) -> str:
        if self.code < 0:
            return f"killed by {signal_name(-self.code)}"
        return f"exit {self.code}"

    @property
    def status(self) -> int:
        """As a shell reports it: the exit code, or 128 + the signal's number."""
        return 128 - self.code if self.code < 0 else self.code

    def to_json(self) -> dict:
        if self.code < 0:
            return {"code": None, "signal": signal_name(-self.code)}
        return {"code": self.code, "signal": None}


def signal_name(number: int) -> str:
    """``SIGTERM``; ``SIGRTMIN+1`` for a real-time signal (``signal.Signals`` names only the two
    ends of that range), as ``kill -l`` does; ``signal 32`` for a number with no name at all.

    Any signal can end a unit, so this must name every number rather than raise."""
    try:
        return signal.Signals(number).name
    except ValueError:
        pass
    if signal.SIGRTMIN < number < signal.SIGRTMAX:
        return f"SIGRTMIN+{number - signal.SIGRTMIN}"
    return f"signal {number}"


@attrs.define(eq=False)
class Unit:
    service: Service
    replica: int | None = None
    state: str = "waiting"
    reason: str = ""
    since: float = attrs.field(factory=time.time)
    process: trio.Process | None = None
    started_at: float | None = None
    restarts: int = 0
    recent_restarts: deque[float] = attrs.field(factory=deque)
    last_exit: Exit | None = None
    ended_by: Exit | None = None  # the last run's exit when the process ended itself, not stopped by us
    tail: deque[str] = attrs.field(factory=lambda: deque(maxlen=_TAIL))
    wanted: bool = True
    proven: bool = False
    killed: bool = False
    notified: trio.Event = attrs.field(factory=trio.Event)
    status_text: str = ""
    stop_requested: trio.Event = attrs.field(factory=trio.Event)

    @property
    def name(self) -> str:
        return self.service.name if self.replica is None else f"{self.service.name}@{self.replica}"

    @property
    def pid(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return None
        return self.process.pid

    def exit_status(self) -> int:
        """What the supervisor exits with when this unit's end ends the graph: 0 unless it
        failed; then its process's own exit code (128 + signal), as tini passes it on, or 1 when
        the supervisor ended it (a failed probe, a start that timed out)."""
        if self.state != "failed":
            return 0
        if self.ended_by is not None and self.ended_by.code != 0:
            return self.ended_by.status
        return 1

    def describe(self) -> str:
        """The state with its reason and last exit, as a waiting dependent's status quotes it."""
        text = f"{self.name} {'in ' if self.state == 'backoff' else ''}{self.state}"
        if self.last_exit is not None and self.state not in ("ready", "done"):
            text += f", last {self.last_exit.describe()}{self.last_output()}"
        return text

    def last_output(self, lines: int = 2) -> str:
        """``: "line" / "line"``, the last lines it wrote, for reasons and waiting dependents."""
        if not self.tail:
            return ""
        return ": " + " / ".join(f'"{line}"' for line in list(self.tail)[-lines:])

    def to_json(self) -> dict:
        now = time.time()
        return {
            "name": self.service.name,
            "unit": self.name,
            "replica": self.replica,
            "kind": self.service.kind,
            "state": self.state,
            "pid": self.pid,
            "restarts": self.restarts,
            "last_exit": self.last_exit.to_json() if self.last_exit else None,
            "since": round(self.since, 3),
            "uptime": round(now - self.started_at, 3) if self.pid and self.started_at else None,
            "reason": self.reason,
            "status": self.status_text,
            "provides": list(self.service.provides),
            "output": list(self.tail),
        }
