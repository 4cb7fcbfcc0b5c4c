"""``run_graph``: the supervisor's main task, with every other task in its nurseries.

Signals: the first SIGTERM/SIGINT stops the graph in order, a second SIGINT kills everything;
SIGHUP reloads the graph from its file (``reload``); SIGUSR1, SIGUSR2 and SIGWINCH are forwarded
to every unit's process group. Whatever way
the supervisor leaves (clean, fault, exception), every process group it started gets SIGKILL.
"""

import os
import signal
from pathlib import Path

import trio

from supervisor.check.plan import Plan
from supervisor.runtime.children import Children
from supervisor.runtime.control import serve_control
from supervisor.runtime.core import Runtime
from supervisor.runtime.finish import finish_when_ended
from supervisor.runtime.groups import FILE as GROUPS
from supervisor.runtime.log import Log
from supervisor.runtime.notify import serve_notify
from supervisor.runtime.reaper import reap_forever
from supervisor.runtime.reload import reload
from supervisor.runtime.rundir import claimed
from supervisor.runtime.supervise import start_supervising

FORWARDED = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH)


class MetricsError(Exception):
    """``--metrics`` cannot be served (not HOST:PORT, or the port cannot be bound): nothing starts."""


async def _handle_signals(rt: Runtime, nursery: trio.Nursery) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP, *FORWARDED) as signals:
        async for signum in signals:
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                if not rt.stopping:
                    rt.log.event("supervisor", "signal", f"{name}: reloading {rt.plan.graph.file}")
                    nursery.start_soon(reload, rt)
            elif signum in FORWARDED:
                for unit in rt.units.values():
                    if unit.pid is not None:
                        rt.children.signal_group(unit.pid, signum)
                rt.log.event("supervisor", "signal", f"{name} forwarded to every service")
            elif rt.shutdown_requested.is_set():
                if signum == signal.SIGINT:
                    rt.kill_everything()
            else:
                rt.log.event("supervisor", "signal", f"{name}: stopping")
                rt.shutdown_requested.set()


async def _run(rt: Runtime) -> None:
    async with trio.open_nursery() as services:
        await services.start(serve_notify, str(rt.runtime_dir / "notify.sock"), rt.notify)
        await services.start(serve_control, rt, str(rt.runtime_dir / "control.sock"))
        services.start_soon(_handle_signals, rt, services)
        if os.getpid() == 1:
            services.start_soon(reap_forever, rt.children)
        rt.log.event(
            "supervisor",
            "started",
            f"graph {rt.plan.graph.name}, {len(rt.units)} units, control {rt.runtime_dir / 'control.sock'}",
        )
        await run_units(rt)
        services.cancel_scope.cancel()


async def run_units(rt: Runtime) -> None:
    """Supervise every unit until a shutdown is requested, then stop them all in order.

    Apart from the sockets and signals around it, so that tests run it on trio's mock clock.
    """
    async with trio.open_nursery() as units:
        rt.tasks = units
        for unit in rt.units.values():
            start_supervising(rt, unit)
        units.start_soon(finish_when_ended, rt)
        await rt.shutdown_requested.wait()
        await rt.shutdown()


def run_graph(plan: Plan, runtime_dir: Path, log: Log, metrics: str | None = None) -> int:
    """Run ``plan`` until it is shut down; the exit status (0 clean, 1 fault, 130 forced).

    RuntimeDirError, before anything starts, if another supervisor holds ``runtime_dir``;
    MetricsError if ``metrics`` (HOST:PORT) cannot be served.
    """
    with claimed(runtime_dir, log) as record:
        rt = Runtime(plan, runtime_dir, log, children=Children(record=record))
        endpoint = None
        if metrics is not None:
            from supervisor.runtime.metrics import Metrics  # prometheus_client only when asked for

            endpoint = Metrics(rt)
            endpoint.serve(metrics)
        try:
            trio.run(_run, rt)
        finally:
            if endpoint is not None:
                endpoint.close()
            rt.children.kill_all()
            rt.close_listeners()
            for name in ("control.sock", "notify.sock", GROUPS):  # every group is killed by now
                (runtime_dir / name).unlink(missing_ok=True)
        rt.log.event("supervisor", "exit", f"exit status {rt.exit_code}")
        return rt.exit_code
