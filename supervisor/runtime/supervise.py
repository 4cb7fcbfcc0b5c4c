"""The life of one unit: wait for its requirements, start it, prove it, watch it, restart it.

``supervise`` runs for as long as the supervisor does and is the only code that changes the
unit's process. Stops arrive as ``unit.stop_requested``; every wait is bounded (start_timeout,
the ready probe's timeout, stop_timeout), and every failure ends in an event and a state with
its reason, never in an exception.
"""

import signal
import time

import attrs
import trio

from supervisor.graph.durations import format_duration
from supervisor.runtime.children import SpawnError
from supervisor.runtime.core import Runtime
from supervisor.runtime.launch import Launch, LaunchError, expand_probe_target
from supervisor.runtime.output import OUTPUT_GRACE, pump
from supervisor.runtime.probes import probe_once
from supervisor.runtime.unit import PARKED, Exit, Unit
from supervisor.status import UnitState

SETTLE = 0.2
"""How long a longrun with no ready probe must stay up to count as ready."""


@attrs.define
class Outcome:
    """How one run ended: by a stop, an exit, a failed start or a lost capability."""

    exit: Exit | None = None
    error: str | None = None
    lost: bool = False
    held: bool = False  # lost what it had proven (not a re-run whose check never passed)
    stopped: bool = False
    handed_off: bool = False  # stopped for a restart: its process drains in the background

    @property
    def failed(self) -> bool:
        return self.error is not None or self.lost or (self.exit is not None and self.exit.code != 0)

    def describe(self) -> str:
        if self.stopped and self.error is None:
            return "stopped by request"  # not the stop signal's exit: a stop is not a crash
        return self.error or (self.exit.describe() if self.exit else "stopped")


def start_supervising(rt: Runtime, unit: Unit) -> None:
    """Run ``supervise`` for ``unit`` in the units' nursery, until the supervisor stops or a
    reload removes the unit (``unit.retired`` is cancelled once it has stopped)."""

    async def supervised() -> None:
        with unit.retired:
            await supervise(rt, unit)

    rt.tasks.start_soon(supervised, name=f"supervise {unit.name}")


async def supervise(rt: Runtime, unit: Unit) -> None:
    try:
        while not rt.stopping:
            if not unit.wanted:
                if unit.state not in PARKED:
                    rt.set_state(unit, UnitState.STOPPED, "stopped by request")
                await rt.until(lambda: unit.wanted or rt.stopping)
                continue
            if not await _wait_requirements(rt, unit):
                continue
            outcome = await _run_once(rt, unit)
            rt.set_proven(unit, False, outcome.describe())
            if outcome.stopped or rt.stopping or not unit.wanted:
                rt.set_state(unit, UnitState.STOPPED, outcome.describe())
                continue
            await _after(rt, unit, outcome)
    except Exception as error:  # a bug must not take the other units down with it
        rt.log.event(unit.name, "error", f"internal error: {error!r}")
        rt.set_state(unit, UnitState.FAILED, f"internal error: {error!r}")
    finally:
        if unit.state not in PARKED:
            rt.set_state(unit, UnitState.STOPPED, "supervisor stopping")


async def _wait_requirements(rt: Runtime, unit: Unit) -> bool:
    """True once everything ``unit`` requires is available; False if stopped or timed out."""
    timeout = unit.service.start_timeout
    with trio.move_on_after(timeout):
        while True:
            if rt.stopping or not unit.wanted:
                return False
            if not rt.missing(unit):
                return True
            rt.set_state(unit, UnitState.WAITING, rt.waiting_reason(unit))
            await rt.next_change()
    unit.wanted = False
    rt.set_state(
        unit,
        UnitState.FAILED,
        f"gave up after start_timeout {format_duration(timeout)}: {rt.waiting_reason(unit)}",
    )
    return False


async def _after(rt: Runtime, unit: Unit, outcome: Outcome) -> None:
    """Apply the restart policy, backoff and crash-loop protection to a run that ended."""
    service = unit.service
    what = outcome.describe()
    if outcome.lost:
        restart = True
    elif service.kind == "oneshot":
        restart = service.restart != "never"
    else:
        restart = service.restart == "always" or (service.restart == "on-failure" and outcome.failed)
    if not restart:
        unit.wanted = False
        rt.set_state(unit, UnitState.FAILED if outcome.failed else UnitState.STOPPED, what)
        return
    if outcome.lost and outcome.held:
        # What it provided held, then was lost (keys wiped from the agent): the provider did
        # not crash, and every moment without it fails its consumers. So the re-run is at once,
        # outside the crash-loop count; a re-run that cannot prove it again counts as usual.
        unit.recent_restarts.clear()
    now = trio.current_time()
    while unit.recent_restarts and unit.recent_restarts[0] < now - service.restart_window:
        unit.recent_restarts.popleft()
    if len(unit.recent_restarts) >= service.max_restarts:
        unit.wanted = False
        last = unit.last_output() if outcome.exit is not None else ""
        rt.set_state(
            unit,
            UnitState.FAILED,
            f"{len(unit.recent_restarts)} restarts within {format_duration(service.restart_window)}; last {what}{last}",
        )
        return
    unit.recent_restarts.append(now)
    unit.restarts += 1
    delay = service.backoff.delay(len(unit.recent_restarts))
    if delay <= 0:
        rt.log.event(unit.name, "restart", f"after {what}")
        return
    rt.set_state(unit, UnitState.BACKOFF, f"restarting in {format_duration(delay)} after {what}")
    with trio.move_on_after(delay):
        await rt.until(lambda: not unit.wanted or rt.stopping)


async def _run_once(rt: Runtime, unit: Unit) -> Outcome:
    """Start the unit's process, prove it and watch it until it ends or is stopped."""
    outcome = Outcome()
    unit.ended_by = None
    unit.killed = False  # whether this run's stop needed SIGKILL: an earlier restart's does not count
    unit.stop_requested = trio.Event()
    unit.notified = trio.Event()
    unit.status_text = ""
    try:
        launch = rt.launch(unit)
        rt.set_state(unit, UnitState.STARTING, " ".join(unit.service.command))
        process = await rt.children.spawn(launch)
    except (LaunchError, SpawnError) as error:
        outcome.error = str(error)
        rt.log.event(unit.name, "error", str(error))
        return outcome
    unit.process, unit.started_at = process, time.time()
    rt.log.event(unit.name, "started", f"pid {process.pid}")
    exited = trio.Event()
    try:
        async with trio.open_nursery() as work:
            work.start_soon(_watch_stop, rt, unit, exited, outcome, work.cancel_scope)
            if unit.service.kind == "longrun":
                work.start_soon(_prove_longrun, rt, unit, launch, exited, outcome)
            async with trio.open_nursery() as output:
                output.start_soon(pump, rt.log, unit, process.stdout, "stdout")
                output.start_soon(pump, rt.log, unit, process.stderr, "stderr")
                code = await process.wait()
                rt.children.signal_group(process.pid, signal.SIGKILL)  # what it left in its group goes too
                exited.set()
                output.cancel_scope.deadline = trio.current_time() + OUTPUT_GRACE
            unit.last_exit = outcome.exit = Exit(code)
            ended_by_us = outcome.stopped or outcome.error or outcome.lost
            unit.ended_by = None if ended_by_us else outcome.exit
            if not ended_by_us and unit.service.kind == "oneshot" and code == 0:
                rt.set_state(unit, UnitState.DONE, "exit 0")
                await _prove_oneshot(rt, unit, launch, outcome)
            elif not ended_by_us:
                rt.log.event(unit.name, "exit", outcome.exit.describe())
            work.cancel_scope.cancel()
    finally:
        if outcome.handed_off:
            unit.process = None  # no longer the unit's: its notify messages and pid are not
            rt.drains.adopt(unit, process, rt.tasks)
        else:
            await rt.children.finish(process)
    return outcome


async def _watch_stop(rt: Runtime, unit: Unit, exited: trio.Event, outcome: Outcome, scope) -> None:
    await unit.stop_requested.wait()
    outcome.stopped = True
    if exited.is_set():
        scope.cancel()
    elif unit.hand_off:
        outcome.handed_off = True  # the run lets go of it; ``_run_once`` hands it to ``drain``
        scope.cancel()
    else:
        await _terminate(rt, unit, exited)


async def _terminate(rt: Runtime, unit: Unit, exited: trio.Event) -> None:
    """stop_signal to the unit's whole group, SIGKILL if it is still there after drain_timeout
    (its sessions' time to finish) and stop_timeout."""
    service = unit.service
    pid = unit.process.pid
    rt.set_state(unit, UnitState.STOPPING, f"sent {service.stop_signal.name}")
    rt.children.signal_group(pid, service.stop_signal)
    limit = service.drain_timeout + service.stop_timeout
    with trio.move_on_after(limit):
        await exited.wait()
        return
    unit.killed = True
    rt.log.event(
        unit.name,
        "killed",
        f"still running {format_duration(limit)} after {service.stop_signal.name}: sent SIGKILL",
    )
    rt.children.signal_group(pid, signal.SIGKILL)
    await exited.wait()


async def _fail_run(rt: Runtime, unit: Unit, exited: trio.Event, outcome: Outcome, message: str) -> None:
    outcome.error = message
    rt.log.event(unit.name, "error", message)
    await _terminate(rt, unit, exited)


async def _prove_longrun(rt: Runtime, unit: Unit, launch: Launch, exited, outcome: Outcome) -> None:
    probe = unit.service.ready
    if probe is None:
        await trio.sleep(SETTLE)
        proof = f"up for {format_duration(SETTLE)}"
    elif probe.kind == "notify":
        with trio.move_on_after(probe.timeout):
            await unit.notified.wait()
        if not unit.notified.is_set():
            await _fail_run(
                rt,
                unit,
                exited,
                outcome,
                f"not ready within {format_duration(probe.timeout)}: no READY=1 on NOTIFY_SOCKET",
            )
            return
        proof = "READY=1" + (f" ({unit.status_text})" if unit.status_text else "")
    else:
        try:
            target = expand_probe_target(probe, rt.variables)
        except LaunchError as error:
            await _fail_run(rt, unit, exited, outcome, str(error))
            return
        deadline = trio.current_time() + probe.timeout
        failure = None  # why the unit is not ready: the last try that had the time to say
        while True:
            left = deadline - trio.current_time()
            result = await probe_once(probe.kind, target, left, rt.children, launch)
            if result.ok:
                break
            # A try left less than an interval by the deadline (a late wake-up) may only time out:
            # an earlier try's reason (a refused certificate, a wrong status) says more.
            if failure is None or left >= probe.interval:
                failure = result
            fits = trio.current_time() + probe.interval < deadline
            if fits:
                await trio.sleep(probe.interval)
            if not fits or trio.current_time() >= deadline:  # no time for another try, or woken too late
                message = f"not ready within {format_duration(probe.timeout)} ({probe.description}): {failure.output}"
                await _fail_run(rt, unit, exited, outcome, message)
                return
        proof = probe.description
    rt.set_state(unit, UnitState.READY, proof)
    rt.set_proven(unit, True)
    if await _check_until_lost(rt, unit, launch, outcome, first_now=False):
        await _terminate(rt, unit, exited)


async def _prove_oneshot(rt: Runtime, unit: Unit, launch: Launch, outcome: Outcome) -> None:
    """A oneshot that exited 0 provides once its check passes; it holds until a check fails."""
    if unit.service.check is None:
        rt.set_proven(unit, True)  # then _check_until_lost has nothing to run and holds it forever
    await _check_until_lost(rt, unit, launch, outcome, first_now=True)


async def _check_until_lost(
    rt: Runtime, unit: Unit, launch: Launch, outcome: Outcome, first_now: bool
) -> bool:
    """Run the check probe on its interval, or at once when asked (``unit.checks``: a report, or
    ``supervisor check``); return True when it fails (the capability is lost)."""
    probe = unit.service.check
    if probe is None:
        await trio.sleep_forever()
    try:
        target = expand_probe_target(probe, rt.variables)
    except LaunchError as error:
        outcome.error = str(error)
        rt.log.event(unit.name, "error", str(error))
        return True
    demand, asked = unit.checks, None
    demand.listening = True
    try:
        if not first_now:
            await demand.wait(probe.interval)
        failures, passed = 0, False
        while True:
            asked = demand.take()
            started = trio.current_time()
            result = await probe_once(probe.kind, target, probe.timeout, rt.children, launch)
            checked = rt.record_check(unit, result.ok, result.output, trio.current_time() - started)
            if asked is not None:
                verdict = "passed" if result.ok else "failed"
                took = format_duration(checked.duration)
                rt.log.event(unit.name, "checked", f"{verdict} in {took}, asked by {asked.asked_by()}")
                asked.finish(checked)
            why = f"check failed ({probe.description}): {result.output}"
            if result.ok:
                failures, passed = 0, True
                if not unit.proven:
                    rt.set_proven(unit, True)
            elif not passed and time.time() - unit.started_at < probe.start_period:
                grace = format_duration(probe.start_period)
                rt.log.event(unit.name, "check-retry", f"{why}; not counted within start_period {grace}")
            else:
                failures += 1
                if failures >= probe.retries:
                    outcome.lost, outcome.held, outcome.error = True, unit.proven, why
                    rt.log.event(unit.name, "check-failed", why)
                    rt.set_proven(unit, False, why)
                    return True
                rt.log.event(
                    unit.name, "check-retry", f"{why}; {failures} of {probe.retries} failures in a row"
                )
            await demand.wait(probe.interval)
    finally:
        demand.close(f"the check did not run to its end: {unit.describe()}", asked)
