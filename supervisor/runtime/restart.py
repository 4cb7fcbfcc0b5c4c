"""Restarts: of one unit, and of a service's units one at a time (rolling).

A unit whose service has a ``drain_timeout`` and whose process runs is not stopped and then
started: its process is handed over to ``drain`` (it finishes its sessions in the background)
and the new one starts at once. A service's units are restarted in turn, each only once the one
before is up again, so a service with replicas always has all but one serving: the socket they
share (``listen``) is never without a reader, and no connection is refused. A unit that does
not come up stops the roll: the units after it keep their processes.

Restarts of one unit are applied one at a time, as reloads are (a lock: the unit's
``restarting``): one asked for while another runs (``supervisor restart`` twice, or a reload's
roll meeting an operator's restart) waits for it to end, then restarts the unit again. So every
restart answers with a process started after it was asked for, running what the graph said at
that moment; it is never folded into one already under way, which may have started the version
before. Restarts of different units do not wait for each other.
"""

import attrs

from supervisor.graph.model import Service
from supervisor.runtime.core import Runtime
from supervisor.runtime.unit import Unit


@attrs.frozen
class Step:
    """What a restart did to one unit, for the control answer and the reload report."""

    unit: str
    done: str
    ok: bool = True

    def to_json(self) -> dict:
        return {"unit": self.unit, "done": self.done, "ok": self.ok}


async def restart_unit(rt: Runtime, unit: Unit, service: Service | None = None) -> Step:
    """Restart ``unit`` (as ``service``, its new version, for a reload) once any restart of it
    under way has ended, and wait until it is up, or has given up (failed, or stopped by its
    restart policy)."""
    try:
        async with unit.restarting:
            if rt.stopping or rt.units.get(unit.name) is not unit:
                why = "the supervisor is stopping" if rt.stopping else "a reload removed it"
                return Step(unit.name, f"not restarted: {why}", ok=False)
            return await _restart(rt, unit, service)
    finally:
        rt.changed()  # ``exit_when`` does not count a unit as ended while it restarts: look again


async def _restart(rt: Runtime, unit: Unit, service: Service | None) -> Step:
    pid = unit.pid
    draining = pid is not None and unit.service.drain_timeout > 0
    unit.hand_off = draining
    try:
        await rt.stop_unit(unit)
    finally:
        unit.hand_off = False
    if service is not None:
        unit.service = service
    rt.request_start(unit)
    await rt.until(lambda: rt.stopping or unit.state.up or (unit.state.parked and not unit.wanted))
    how = f"old pid {pid} draining, " if draining else (f"old pid {pid} stopped, " if pid else "")
    if unit.state.up:
        return Step(unit.name, f"restarted: {how}new pid {unit.pid} {unit.state.value}")
    return Step(unit.name, f"restart failed: {how}new process {unit.describe()}", ok=False)


async def restart_rolling(
    rt: Runtime, units: list[Unit], services: dict[str, Service] | None = None
) -> list[Step]:
    """Restart ``units`` one at a time, each once the one before is up; stop at the first that
    does not come up (``services``: the new version of each service, for a reload)."""
    steps: list[Step] = []
    for unit in units:
        if steps and not steps[-1].ok and not rt.stopping:
            steps.append(Step(unit.name, "not restarted: the restart before it failed", ok=False))
            continue
        steps.append(await restart_unit(rt, unit, (services or {}).get(unit.service.name)))
    return steps
