"""``exit_when``: a graph whose purpose is to finish stops by itself, with an exit status that says
how it went (a test run, a migration, a batch job with its helpers around it).

``main-ended`` waits for the service marked ``main``, ``all-ended`` for every unit, to end for
good: done (a oneshot that exited 0), stopped, or failed with no restart left. The graph then
stops as on SIGTERM, dependents first, and the supervisor exits with the status of the main
service, or of the first unit that failed (see :meth:`Unit.exit_status`), as ``docker compose up
--exit-code-from`` does.

What it waits for is the running plan's, looked at anew on every change (:func:`watched`): a
reload that adds units, removes them, or changes ``exit_when`` or the main service is taken into
account. Nothing has ended while a reload is applied, and no unit while it restarts: they are
stopped on the way.
"""

from supervisor.runtime.core import Runtime
from supervisor.runtime.unit import Unit
from supervisor.status import UnitState


def ended(unit: Unit) -> bool:
    """Whether ``unit`` has ended for good: done, or parked with no restart wanted (and not
    restarting: a restart stops it first)."""
    if unit.restarting.locked():
        return False
    return unit.state is UnitState.DONE or (unit.state.parked and not unit.wanted)


def watched(rt: Runtime) -> list[Unit]:
    """The units the running plan's ``exit_when`` waits for: none for ``never`` (or when the main
    service is switched off in this variant)."""
    exit_when = rt.plan.graph.exit_when
    main = exit_when == "main-ended"
    return [u for u in rt.units.values() if exit_when == "all-ended" or (main and u.service.main)]


def _finished(rt: Runtime) -> bool:
    """Whether what ``exit_when`` waits for has ended (never while a reload is being applied)."""
    units = watched(rt)
    return bool(units) and not rt.reloading.locked() and all(ended(u) for u in units)


async def finish_when_ended(rt: Runtime) -> None:
    """Stop the graph once the units ``exit_when`` names have ended; until then, or until the
    graph is stopped otherwise, wait (a reload may change what is waited for)."""
    stopped_otherwise = rt.shutdown_requested.is_set  # a signal, a critical failure, `shutdown`
    await rt.until(lambda: stopped_otherwise() or _finished(rt))
    if stopped_otherwise():
        return
    units = watched(rt)
    failed = [u for u in units if u.state is UnitState.FAILED]
    rt.exit_code = (failed or units)[0].exit_status()
    exit_when = rt.plan.graph.exit_when
    what = "the main service" if exit_when == "main-ended" else "every unit"
    rt.log.event("supervisor", "finished", f"{what} ended (exit_when = {exit_when}): stopping the graph")
    rt.shutdown_requested.set()
