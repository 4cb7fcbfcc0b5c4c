"""One running copy of a service (a *unit*: ``name``, or ``name@N`` with replicas) and its state.

The state machine lives in ``supervise``; this is the record it keeps, which ``status`` reports.
"""

import time
from collections import deque

import attrs
import trio

from supervisor.graph.model import Service
from supervisor.runtime.demand import CheckDemand
from supervisor.status import Exit, UnitState, UnitStatus

PARKED = frozenset(state for state in UnitState if state.parked)
_TAIL = 5


def unit_name(service: str, replica: int | None) -> str:
    """``NAME`` for a single copy, ``NAME@N`` for replica N."""
    return service if replica is None else f"{service}@{replica}"


@attrs.define(eq=False)
class Unit:
    service: Service
    replica: int | None = None
    state: UnitState = UnitState.WAITING
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
    retired: trio.CancelScope = attrs.field(factory=trio.CancelScope)  # ends its supervise task
    hand_off: bool = False  # a stop for a restart: the process drains in the background (``drain``)
    restarting: trio.Lock = attrs.field(factory=trio.Lock)  # one restart of it at a time (``restart``)
    depth: int = 0
    checks: CheckDemand = attrs.field(factory=CheckDemand)

    @property
    def name(self) -> str:
        return unit_name(self.service.name, self.replica)

    @property
    def pid(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return None
        return self.process.pid

    def exit_status(self) -> int:
        """What the supervisor exits with when this unit's end ends the graph: 0 unless it
        failed; then its process's own exit code (128 + signal), as tini passes it on, or 1 when
        the supervisor ended it (a failed probe, a start that timed out)."""
        if self.state is not UnitState.FAILED:
            return 0
        if self.ended_by is not None and self.ended_by.code != 0:
            return self.ended_by.status
        return 1

    def describe(self) -> str:
        """The state with its reason and last exit, as a waiting dependent's status quotes it.

        A unit stopped on request is just that: its last exit (the stop signal) and output (an
        access log) say nothing about why its dependents are without it."""
        if self.state in (UnitState.STOPPING, UnitState.STOPPED) and self.stop_requested.is_set():
            return f"{self.name} stopped by request"
        text = f"{self.name} {'in ' if self.state is UnitState.BACKOFF else ''}{self.state.value}"
        if self.last_exit is not None and not self.state.up:
            text += f", last {self.last_exit.describe()}{self.last_output()}"
        return text

    def last_output(self, lines: int = 2) -> str:
        """``: "line" / "line"``, the last lines it wrote, for reasons and waiting dependents."""
        if not self.tail:
            return ""
        return ": " + " / ".join(f'"{line}"' for line in list(self.tail)[-lines:])

    def snapshot(self, cause: str = "") -> UnitStatus:
        return UnitStatus(
            unit=self.name,
            service=self.service.name,
            replica=self.replica,
            kind=self.service.kind,
            state=self.state,
            reason=self.reason,
            pid=self.pid,
            since=self.since,
            started_at=self.started_at,
            restarts=self.restarts,
            last_exit=self.last_exit,
            status=self.status_text,
            provides=self.service.provides,
            requires=self.service.requires,
            output=tuple(self.tail),
            wanted=self.wanted,
            depth=self.depth,
            cause=cause,
        )
