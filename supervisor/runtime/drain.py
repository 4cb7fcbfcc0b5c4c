"""Processes draining in the background: the old process of a restarted unit whose service has a
``drain_timeout``, no longer the unit's, finishing its sessions while the unit's new process
already serves.

A unit has one process, and a restart must not wait for the old one's sessions (up to
drain_timeout) before the new one starts: so ``supervise`` hands the old process over here, and
starts the new one at once. The old process gets its stop_signal (it stops accepting at once and
exits when its sessions are done, see the ``drain_timeout`` setting), its output is still logged
under the unit's name, it is reaped when it exits, and its group gets SIGKILL if it is still
there drain_timeout + stop_timeout after the signal: at shutdown too, the supervisor waits for it
no longer than that. Its group stays recorded (``Children``, ``groups.json``) until it is reaped,
so the run after a crash stops it as any other.
"""

import signal
import time
from collections.abc import Callable

import attrs
import trio

from supervisor.graph.durations import format_duration
from supervisor.runtime.children import Children
from supervisor.runtime.log import Log
from supervisor.runtime.output import OUTPUT_GRACE, pump
from supervisor.runtime.unit import Unit
from supervisor.status import DrainingStatus, Exit


@attrs.define(eq=False)
class Draining:
    unit: Unit
    process: trio.Process
    since: float
    deadline: float

    def snapshot(self) -> DrainingStatus:
        return DrainingStatus(self.unit.name, self.process.pid, self.since, self.deadline)


@attrs.define(eq=False)
class Drains:
    """The draining processes, each watched by a task in the units' nursery (``Runtime.tasks``),
    which the supervisor leaves only once every one of them is gone."""

    log: Log
    children: Children
    changed: Callable[[], None]
    processes: list[Draining] = attrs.field(factory=list)

    def adopt(self, unit: Unit, process: trio.Process, nursery: trio.Nursery) -> None:
        """Take ``process`` over from ``unit`` (whose run has let go of its output): signal it to
        drain, and watch it until it is gone."""
        service = unit.service
        limit = service.drain_timeout + service.stop_timeout
        now = time.time()
        draining = Draining(unit, process, now, now + limit)
        self.processes.append(draining)
        self.children.signal_group(process.pid, service.stop_signal)
        self.log.event(
            unit.name,
            "draining",
            f"pid {process.pid}: sent {service.stop_signal.name}, draining for up to "
            f"{format_duration(service.drain_timeout)} while the new process starts",
        )
        self.changed()
        nursery.start_soon(self._watch, draining, limit)

    async def _watch(self, draining: Draining, limit: float) -> None:
        unit, process = draining.unit, draining.process
        try:
            async with trio.open_nursery() as output:
                output.start_soon(pump, self.log, unit, process.stdout, "stdout")
                output.start_soon(pump, self.log, unit, process.stderr, "stderr")
                with trio.move_on_after(limit):
                    await process.wait()
                if process.returncode is None:
                    self.log.event(
                        unit.name,
                        "killed",
                        f"pid {process.pid} still draining {format_duration(limit)} after "
                        f"{unit.service.stop_signal.name} (drain_timeout + stop_timeout): sent SIGKILL",
                    )
                self.children.signal_group(process.pid, signal.SIGKILL)  # what is left of its group
                await process.wait()
                output.cancel_scope.deadline = trio.current_time() + OUTPUT_GRACE
        finally:
            await self.children.finish(process)
            self.processes.remove(draining)
            took = format_duration(time.time() - draining.since)
            ended = Exit(process.returncode).describe()
            self.log.event(unit.name, "drained", f"pid {process.pid} {ended} after {took}")
            self.changed()

    def snapshot(self) -> tuple[DrainingStatus, ...]:
        return tuple(d.snapshot() for d in self.processes)
