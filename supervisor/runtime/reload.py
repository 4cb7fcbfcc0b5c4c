"""``reload``: run a new version of the graph without stopping what did not change.

The new file goes through what ``run`` puts a graph through (``prepare.checked_plan``: the
running profile and ``--disable``, the supervisor's environment, lint as ``run`` lints): a file
with an error changes nothing, and the answer carries the same findings ``run`` would print.
What changed is ``supervisor diff``'s comparison of the running plan with the new one
(``check.diff.service_changes``), applied in an order that keeps every requirement provable:

1. services removed: stopped, dependents first (the running plan's stop order), and forgotten;
2. the new plan and its capabilities take over; added services (and added replicas) start, as
   at ``run``, once what they require is available;
3. changed services restart, providers first, each rolling and drained as ``restart`` does
   (``restart.restart_rolling``), each unit as the new version of its service;
4. capabilities nothing provides any more are forgotten.

Everything else keeps running, its processes untouched. Reloads are applied one at a time.
Each unit a reload adds or removes (a service's, or a replica's) is an ``added`` or ``removed``
event under its name: after ``removed`` nothing more is said of it, and watchers drop it. Each
capability it adds or removes is the supervisor's ``capability-added`` or ``capability-removed``
event naming it (``Event.capability``), and watchers add or drop it the same way.
"""

import os

import attrs
import trio

from supervisor.check.analysis import selected
from supervisor.check.diff import service_changes
from supervisor.check.findings import Finding
from supervisor.check.plan import Plan
from supervisor.graph.loader import GraphFileError, load_file
from supervisor.runtime.core import Capability, Runtime
from supervisor.runtime.prepare import checked_plan
from supervisor.runtime.restart import restart_rolling
from supervisor.runtime.supervise import start_supervising
from supervisor.runtime.unit import Unit, unit_name


@attrs.frozen
class Done:
    """What a reload did to one service: ``added``, ``removed``, ``restarted`` or ``unchanged``
    (``restart failed``: a unit of it did not come up, and the roll stopped there)."""

    service: str
    done: str
    detail: str = ""

    def to_json(self) -> dict:
        return {"service": self.service, "done": self.done, "detail": self.detail}


@attrs.frozen
class Reloaded:
    """The answer to a reload: ``refused`` (why nothing changed, with lint's ``findings``), or what
    was done per service."""

    file: str
    refused: str = ""
    findings: tuple[Finding, ...] = ()
    services: tuple[Done, ...] = ()

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "applied": not self.refused,
            "refused": self.refused,
            "findings": [finding.to_json() for finding in self.findings],
            "services": [done.to_json() for done in self.services],
        }


async def reload(rt: Runtime, path: str | None = None) -> Reloaded:
    """Reload the graph from ``path`` (None: the file it runs, read again)."""
    try:
        async with rt.reloading:
            return await _reload(rt, path)
    finally:
        rt.changed()  # ``exit_when`` waits while a reload is applied: it looks at the new plan now


async def _reload(rt: Runtime, path: str | None) -> Reloaded:
    file = path if path is not None else rt.plan.graph.file
    prepared = await trio.to_thread.run_sync(_prepare, rt, file)
    if isinstance(prepared, Reloaded):
        rt.log.event("supervisor", "reload", f"{file} refused: {prepared.refused}")
        return prepared
    rt.log.event("supervisor", "reload", f"reloading from {file}")
    done = await _apply(rt, prepared)
    for item in done:
        if item.done != "unchanged":
            rt.log.event("supervisor", "reload", f"{item.service} {item.done}{_detail(item)}")
    counts = {kind: sum(d.done == kind for d in done) for kind in dict.fromkeys(d.done for d in done)}
    summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    rt.log.event("supervisor", "reloaded", f"{file}: {summary or 'no services'}")
    return Reloaded(file, services=tuple(done))


def _detail(done: Done) -> str:
    return f": {done.detail}" if done.detail else ""


def _prepare(rt: Runtime, file: str) -> Plan | Reloaded:
    """The new plan, or why there is none (in a thread: it reads the file and the machine)."""
    try:
        loaded = load_file(file)
    except GraphFileError as error:
        return Reloaded(file, refused=str(error))
    graph = loaded.graph
    if graph is None:
        return Reloaded(file, f"{file} is not a valid graph: nothing changed", tuple(loaded.findings))
    variant = rt.plan.variant
    if variant.profile is not None and variant.profile not in graph.profiles:
        return Reloaded(file, f"{file} has no profile {variant.profile!r}, the one running: nothing changed")
    also_off = [name for name in variant.also_off if name in graph.services]
    plan, errors = checked_plan(graph, selected(graph, variant.profile, also_off), os.environ, rt.runtime_dir)
    if errors:
        return Reloaded(file, f"{file} has {len(errors)} error(s): nothing changed", tuple(errors))
    return plan


async def _apply(rt: Runtime, plan: Plan) -> list[Done]:
    old = rt.plan
    changes = service_changes(old, plan)
    kinds = {c.service: c.kind for c in changes}
    details = {c.service: c.message for c in changes}
    removed = [name for name, kind in kinds.items() if kind == "service-removed"]
    changed = [s for s in plan.services if kinds.get(s.name) == "service-changed"]
    for generation in old.stop_order:
        await _stop([u for name in generation if name in removed for u in rt.units_of(name)], rt)
    rt.close_listeners(removed)
    rt.take(plan)
    _take_capabilities(rt, plan)
    _take_units(rt, plan, changed)
    done = [Done(name, "removed") for name in removed]
    planned = {(service.name, replica) for service, replica in plan.units}
    for service in sorted(changed, key=lambda s: plan.depths[s.name]):
        units = rt.units_of(service.name)
        await _stop([u for u in units if (service.name, u.replica) not in planned], rt)
        if old.graph.services[service.name].listen != service.listen:
            rt.close_listeners([service.name])  # the new version listens elsewhere
        running = [u for u in rt.units_of(service.name) if u.wanted and u.pid is not None]
        for unit in rt.units_of(service.name):
            if unit not in running:
                unit.service = service  # it starts as the new version, if it starts
        steps = await restart_rolling(rt, running, {service.name: service})
        what = "restarted" if all(step.ok for step in steps) else "restart failed"
        detail = "; ".join([details[service.name], *(f"{s.unit}: {s.done}" for s in steps)])
        done.append(Done(service.name, what, detail))
    for name in list(rt.capabilities):
        if name not in plan.capabilities:
            del rt.capabilities[name]
            rt.log.event(
                "supervisor", "capability-removed", f"{name}: a reload removed it from the graph", capability=name
            )
    rt.units = {u.name: u for u in sorted(rt.units.values(), key=_place(plan))}
    rt.log.widen(rt.units)
    rt.feed.touch(units=rt.units, capabilities=rt.capabilities)
    rt.changed()
    done += [Done(s.name, "added") for s in plan.services if kinds.get(s.name) == "service-added"]
    done += [Done(s.name, "unchanged") for s in plan.services if s.name not in kinds]
    order = {name: index for index, name in enumerate([*removed, *(s.name for s in plan.services)])}
    return sorted(done, key=lambda d: order[d.service])


async def _stop(units: list[Unit], rt: Runtime) -> None:
    """Stop ``units`` together and forget them: their supervise tasks end."""
    async with trio.open_nursery() as nursery:
        for unit in units:
            nursery.start_soon(rt.stop_unit, unit)
    for unit in units:
        unit.retired.cancel()
        del rt.units[unit.name]
        rt.log.event(unit.name, "removed", "a reload removed it from the graph")


def _take_capabilities(rt: Runtime, plan: Plan) -> None:
    """The new plan's capabilities, their providers and consumers; those it no longer has stay
    until the services that still provide them have restarted."""
    for name in set(rt.capabilities) - set(plan.capabilities):  # only the still-running providers
        kept = rt.capabilities[name]
        kept.providers = tuple(p for p in kept.providers if rt.units_of(p))
    for name, providers in plan.capabilities.items():
        consumers = plan.consumers[name]
        if name in rt.capabilities:
            rt.capabilities[name].providers, rt.capabilities[name].consumers = providers, consumers
        else:
            rt.capabilities[name] = Capability(name, providers, consumers)
            rt.log.event(
                "supervisor", "capability-added", f"{name}: a reload added it to the graph", capability=name
            )


def _take_units(rt: Runtime, plan: Plan, changed) -> None:
    """Units of the new plan: the unchanged keep their process, with their service's new version
    (equal in all a unit runs by) and depth; units new to it (an added service or replica) start."""
    changed_names = {s.name for s in changed}
    for service, replica in plan.units:
        name = unit_name(service.name, replica)
        unit = rt.units.get(name)
        if unit is None:
            unit = rt.units[name] = Unit(service, replica, depth=plan.depths[service.name])
            rt.log.event(name, "added", "a reload added it to the graph")
            start_supervising(rt, unit)
            continue
        unit.depth = plan.depths[service.name]
        if service.name not in changed_names:
            unit.service = service


def _place(plan: Plan):
    order = {
        (service.name, replica): index for index, (service, replica) in enumerate(plan.units)
    }
    return lambda unit: order.get((unit.service.name, unit.replica), len(order))
