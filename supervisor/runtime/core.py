"""The graph at run time: its units, the capabilities they prove, and the orderly shutdown.

State changes go through :class:`Runtime` so that every change is logged once, wakes every task
waiting on a condition (``until``), reaches every watcher (``feed``), and keeps capability and
``degraded`` states consistent. ``status`` turns it all into the typed records of
:mod:`supervisor.status`.
"""

import os
import signal
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import attrs
import trio

from supervisor.check.plan import Plan
from supervisor.graph.model import Service
from supervisor.runtime.children import Children
from supervisor.runtime.demand import Round, Throttle, Unavailable, clean_reason
from supervisor.runtime.drain import Drains
from supervisor.runtime.feed import Feed
from supervisor.runtime.launch import Launch, LaunchError, build_launch, expand_setting
from supervisor.runtime.listen import open_listener
from supervisor.runtime.log import Log
from supervisor.runtime.unit import PARKED, Unit
from supervisor.status import (
    CapabilityState,
    CapabilityStatus,
    CheckResult,
    GraphStatus,
    UnitState,
    UnitStatus,
)

EXIT_CLEAN, EXIT_FAULT, EXIT_FORCED = 0, 1, 130
IGNORED_EVERY = 10.0
"""Seconds between two ``report-ignored`` events for one reporting unit (the rest are counted)."""


@attrs.define
class Capability:
    name: str
    providers: tuple[str, ...]
    consumers: tuple[str, ...] = ()
    state: CapabilityState = CapabilityState.UNAVAILABLE
    provider: str | None = None
    since: float = attrs.field(factory=time.time)
    last_check: CheckResult | None = None

    def snapshot(self) -> CapabilityStatus:
        return CapabilityStatus(
            self.name, self.state, self.provider, self.providers, self.consumers, self.since, self.last_check
        )


@attrs.define(eq=False)
class Runtime:
    """The running ``plan``: it runs exactly the plan's units, in the plan's order."""

    plan: Plan
    runtime_dir: Path
    log: Log
    children: Children = attrs.field(factory=Children)
    units: dict[str, Unit] = attrs.field(init=False)
    capabilities: dict[str, Capability] = attrs.field(init=False)
    file: str = attrs.field(init=False)  # the plan's graph file, absolute (``take``)
    stopping: bool = False
    exit_code: int = EXIT_CLEAN
    shutdown_requested: trio.Event = attrs.field(factory=trio.Event)
    feed: Feed = attrs.field(factory=lambda: Feed(time.time))
    # Hooks for ``metrics`` (``--metrics``): told of every check run; the directory where the
    # services write theirs (``PROMETHEUS_MULTIPROC_DIR``).
    on_check: Callable[[Unit, bool, float], None] = lambda unit, ok, duration: None
    metrics_dir: Path | None = None
    drains: Drains = attrs.field(init=False)
    reloading: trio.Lock = attrs.field(factory=trio.Lock)  # one reload at a time (``reload``)
    tasks: trio.Nursery | None = None  # the units' nursery: their supervise tasks, draining processes
    _changed: trio.Event = attrs.field(factory=trio.Event)
    _ignored: Throttle = attrs.field(factory=lambda: Throttle(IGNORED_EVERY))
    _listeners: dict[str, list[socket.socket]] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self.take(self.plan)
        self.units = {}
        depths = self.plan.depths
        for service, replica in self.plan.units:
            unit = Unit(service, replica, depth=depths[service.name])
            self.units[unit.name] = unit
        self.capabilities = {
            c: Capability(c, providers, self.plan.consumers[c])
            for c, providers in self.plan.capabilities.items()
        }
        self.log.widen(self.units)
        self.log.feed = self.feed
        self.drains = Drains(self.log, self.children, self.changed)

    def take(self, plan: Plan) -> None:
        """Run ``plan`` from now on (at start, and at each reload). Its file's absolute path is
        resolved here, once per plan, not at every ``status`` (``top`` asks for one a second)."""
        self.plan = plan
        self.file = str(Path(plan.graph.file).resolve())

    @property
    def variables(self) -> Mapping[str, str]:
        """What ``${VAR}`` expands to in the plan's settings: the values its lint at run
        checked (``prepare.checked_plan``), so that what runs is what was checked."""
        return self.plan.context.variables

    # -- waiting on conditions -------------------------------------------------------------

    def changed(self) -> None:
        """Wake every task in ``until``: something they may be waiting for has changed."""
        self._changed.set()
        self._changed = trio.Event()

    async def next_change(self) -> None:
        await self._changed.wait()

    async def until(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            await self._changed.wait()

    # -- units -----------------------------------------------------------------------------

    def units_of(self, service: str) -> list[Unit]:
        return [u for u in self.units.values() if u.service.name == service]

    def set_state(self, unit: Unit, state: UnitState, reason: str = "", event: str | None = None) -> None:
        """Move ``unit`` to ``state``; logs the event (``state`` unless named) when anything changed."""
        if (unit.state, unit.reason) == (state, reason) and event is None:
            return
        moved = unit.state != state
        if moved:
            unit.since = time.time()
        unit.state, unit.reason = state, reason
        self.log.event(unit.name, event or state.value, reason)
        if moved and unit.service.provides:
            self._refresh_degraded()  # their reasons quote this unit's state
        if state is UnitState.FAILED and unit.service.critical and not self.stopping:
            self.log.event(
                "supervisor", "failed", f"critical service {unit.name} failed ({reason}): stopping the graph"
            )
            self.exit_code = unit.exit_status()
            self.shutdown_requested.set()
        self.changed()

    def unit_for_pid(self, pid: int) -> Unit | None:
        """The unit whose process is ``pid`` or leads its process group."""
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            group = None
        for unit in self.units.values():
            if unit.pid is not None and unit.pid in (pid, group):
                return unit
        return None

    def notify(self, pid: int, fields: dict[str, str]) -> None:
        unit = self.unit_for_pid(pid)
        if unit is None:
            return
        if "STATUS" in fields:
            unit.status_text = fields["STATUS"].rpartition("\n")[2]
            self.log.event(unit.name, "status", unit.status_text)
        if fields.get("READY") == "1":
            unit.notified.set()
        if "X_CAPABILITY_BROKEN" in fields:
            self.report_broken(unit, fields["X_CAPABILITY_BROKEN"].split("\n"), fields.get("X_REASON", ""))
        self.changed()

    def report_broken(self, unit: Unit, capabilities: list[str], reason: str) -> None:
        """``unit`` says capabilities it requires are broken: their checks run now (docs/notify.md).
        A report it may not make (a capability it does not require), or that cannot be acted on,
        is an event, throttled."""
        reason = clean_reason(reason)
        for name in dict.fromkeys(capabilities):
            if name not in unit.service.requires:
                self._ignore(unit, f"reported {clean_reason(name)!r} broken, which it does not require")
                continue
            try:
                self.request_check(name, unit.name, f"{name} reported broken by {unit.name}: {reason}")
            except Unavailable as why:
                self._ignore(unit, f"reported {name} broken: {why}")

    def _ignore(self, unit: Unit, what: str) -> None:
        held = self._ignored.allow(unit.name)
        if held is not None:
            more = f" ({held} more held back since the last such event)" if held else ""
            self.log.event(unit.name, "report-ignored", f"{what}: ignored{more}")

    def request_check(self, capability: str, by: str, why: str) -> tuple[Unit, Round]:
        """Run ``capability``'s check now, coalesced with any asked for before it runs
        (:mod:`~supervisor.runtime.demand`): the unit that runs it and the round that answers.
        Unavailable, saying what to do, when no check can run now."""
        if capability not in self.capabilities:
            known = ", ".join(self.capabilities) or "none"
            raise Unavailable(f"no capability {capability!r} in this graph (its capabilities: {known})")
        cap = self.capabilities[capability]
        units = sorted(
            (u for p in cap.providers for u in self.units_of(p)), key=lambda u: u.name != cap.provider
        )
        if not units:
            raise Unavailable(f"{capability} cannot be checked now: a reload removed what provided it")
        if all(u.service.check is None for u in units):
            raise Unavailable(
                f"{capability} has no check to run: its provider {units[0].service.name} declares none "
                "(give that service a check in the graph)"
            )
        unit = next((u for u in units if u.checks.listening), None)
        if unit is None:
            raise Unavailable(
                f"{capability} cannot be checked now: its provider {units[0].describe()} is not running "
                "its check (it does once it is up again: see supervisor status)"
            )
        round_, opened = unit.checks.ask(by)
        if opened:
            self.log.event(unit.name, "check-requested", why)
        return unit, round_

    def launch(self, unit: Unit) -> Launch:
        service = unit.service
        extra = {"RUNTIME_DIR": str(self.runtime_dir), "SUPERVISOR_UNIT": unit.name}
        if unit.replica is not None:
            extra["SUPERVISOR_REPLICA"] = str(unit.replica)
        if (service.ready is not None and service.ready.kind == "notify") or service.requires:
            # requires: to report what it requires broken (X_CAPABILITY_BROKEN, docs/notify.md)
            extra["NOTIFY_SOCKET"] = str(self.runtime_dir / "notify.sock")
        if service.drain_timeout > 0:
            extra["DRAIN_TIMEOUT"] = f"{service.drain_timeout:.3f}".rstrip("0").rstrip(".")
        if self.metrics_dir is not None:
            extra["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        return build_launch(service, self.variables, extra, self._listen_fds(service))

    def _listen_fds(self, service: Service) -> tuple[int, ...]:
        """The service's sockets, opened on its first launch and kept for every later one."""
        if service.name not in self._listeners:
            opened: list[socket.socket] = []
            try:
                for spec in service.listen:
                    opened.append(open_listener(expand_setting(spec, self.variables, "listen")))
            except LaunchError:
                for sock in opened:
                    sock.close()
                raise
            self._listeners[service.name] = opened
        return tuple(sock.fileno() for sock in self._listeners[service.name])

    def close_listeners(self, services: Iterable[str] | None = None) -> None:
        """Close the sockets of ``services`` (None: of all), which their next launch opens anew."""
        for name in list(self._listeners) if services is None else services:
            for sock in self._listeners.pop(name, []):
                sock.close()

    # -- capabilities ----------------------------------------------------------------------

    def set_proven(self, unit: Unit, proven: bool, why: str = "") -> None:
        """Record whether ``unit`` currently proves its capabilities, and update their states."""
        if unit.proven == proven:
            return
        unit.proven = proven
        for name in unit.service.provides:
            capability = self.capabilities[name]
            holders = [u for p in capability.providers for u in self.units_of(p) if u.proven]
            capability.provider = holders[0].name if holders else None
            if holders and capability.state is not CapabilityState.AVAILABLE:
                capability.state = CapabilityState.AVAILABLE
                capability.since = time.time()
                self.log.event(unit.name, "available", f"capability {name} available")
            elif not holders and capability.state is CapabilityState.AVAILABLE:
                on_purpose = self.stopping or not unit.wanted
                capability.state = CapabilityState.UNAVAILABLE if on_purpose else CapabilityState.LOST
                capability.since = time.time()
                state = capability.state.value
                self.log.event(unit.name, state, f"capability {name} {state}: {why}")
        self.feed.touch(capabilities=unit.service.provides)
        self._refresh_degraded()
        self.changed()

    def record_check(self, unit: Unit, ok: bool, output: str, duration: float) -> CheckResult:
        result = CheckResult(ok, time.time(), output, duration)
        for name in unit.service.provides:
            self.capabilities[name].last_check = result
        self.feed.touch(capabilities=unit.service.provides)
        self.on_check(unit, ok, duration)
        return result

    def available(self, capability: str) -> bool:
        return (
            capability in self.capabilities
            and self.capabilities[capability].state is CapabilityState.AVAILABLE
        )

    def missing(self, unit: Unit) -> list[str]:
        return [c for c in unit.service.requires if not self.available(c)]

    def why_unavailable(self, capability: str, seen: frozenset[str] = frozenset()) -> str:
        """Why ``capability`` is not available, followed down through the providers to the root."""
        cap = self.capabilities[capability]
        state = "lost" if cap.state is CapabilityState.LOST else "unavailable"
        unit = self._provider(capability)
        if unit is None:
            return f"{capability} ({state}): a reload removed what provided it"
        text = f"{capability} ({state}): provider {unit.describe()}"
        if unit.state is UnitState.WAITING and unit.name not in seen:
            deeper = [self.why_unavailable(c, seen | {unit.name}) for c in self.missing(unit)]
            if deeper:
                text += " for " + "; ".join(deeper)
        return text

    def _provider(self, capability: str) -> Unit | None:
        """The unit a missing capability's story is told through: its first provider's first unit
        (None while a reload takes away the last: old versions of the units needing it remain)."""
        return next((u for p in self.capabilities[capability].providers for u in self.units_of(p)), None)

    def root_cause(self, unit: Unit, seen: frozenset[str] = frozenset()) -> str:
        """The bottom of what ``unit`` lacks, on one line: ``CAPABILITY: provider STATE, last
        exit``, followed down through waiting providers (empty when it lacks nothing)."""
        for capability in self.missing(unit):
            provider = self._provider(capability)
            if provider is None:
                return f"{capability}: a reload removed what provided it"
            if provider.state is UnitState.WAITING and provider.name not in seen and self.missing(provider):
                return self.root_cause(provider, seen | {unit.name})
            return f"{capability}: {provider.describe()}"
        return ""

    def unit_status(self, unit: Unit) -> UnitStatus:
        waiting = unit.state in (UnitState.WAITING, UnitState.DEGRADED)
        return unit.snapshot(cause=self.root_cause(unit) if waiting else "")

    def waiting_reason(self, unit: Unit) -> str:
        return "waiting for " + "; ".join(self.why_unavailable(c) for c in self.missing(unit))

    def _refresh_degraded(self) -> None:
        """Ready units that lost a requirement become degraded, and degraded ones whose
        requirements are back ready; a degraded unit's reason follows its provider's state
        quietly (no event: only the explanation changed)."""
        for unit in self.units.values():
            missing = self.missing(unit)
            if unit.state in (UnitState.READY, UnitState.DEGRADED) and missing:
                reason = "requires " + "; ".join(self.why_unavailable(c) for c in missing)
                if unit.state is UnitState.READY:
                    self.set_state(unit, UnitState.DEGRADED, reason)
                elif reason != unit.reason:
                    unit.reason = reason
                    self.feed.touch(units=(unit.name,))
            elif unit.state is UnitState.DEGRADED and not missing:
                self.set_state(unit, UnitState.READY, "requirements are back", event="recovered")

    # -- control ---------------------------------------------------------------------------

    def select(self, target: str) -> list[Unit]:
        """The units ``target`` names: a unit (``name@2``) or every replica of a service."""
        if target in self.units:
            return [self.units[target]]
        found = self.units_of(target)
        if not found:
            raise KeyError(f"no service or unit {target!r} (units: {', '.join(self.units)})")
        return found

    def request_start(self, unit: Unit) -> None:
        unit.wanted = True
        unit.recent_restarts.clear()
        self.feed.touch(units=(unit.name,))
        self.changed()

    async def stop_unit(self, unit: Unit) -> None:
        """Ask ``unit`` to stop and wait until it has (its supervise task does the stopping)."""
        unit.wanted = False
        unit.stop_requested.set()
        if unit.state is UnitState.FAILED and not self.stopping:
            # Put down on an operator's request: no longer a fault to report. Not at shutdown,
            # where a failed unit stays what it was for the last word on the graph.
            self.set_state(unit, UnitState.STOPPED, "stopped by request")
        self.feed.touch(units=(unit.name,))
        self.changed()
        await self.until(lambda: unit.state in PARKED)

    async def shutdown(self) -> None:
        """Stop every unit in reverse dependency order, then let the supervise tasks end."""
        self.stopping = True
        self.log.event("supervisor", "stopping", "stopping the graph, dependents first")
        self.changed()
        for generation in self.plan.stop_order:
            async with trio.open_nursery() as nursery:
                for service in generation:
                    for unit in self.units_of(service):
                        nursery.start_soon(self.stop_unit, unit)
        if any(u.killed for u in self.units.values()) and self.exit_code == EXIT_CLEAN:
            self.exit_code = EXIT_FAULT

    def kill_everything(self) -> None:
        """The second SIGINT: no more waiting for anyone."""
        self.log.event("supervisor", "killed", "second interrupt: killing every process now")
        self.exit_code = EXIT_FORCED
        for unit in self.units.values():
            if unit.pid is not None:
                self.children.signal_group(unit.pid, signal.SIGKILL)
        self.children.kill_all()

    def status(self) -> GraphStatus:
        return GraphStatus(
            graph=self.plan.graph.name,
            pid=os.getpid(),
            stopping=self.stopping,
            services=tuple(self.unit_status(u) for u in self.units.values()),
            capabilities=tuple(c.snapshot() for c in self.capabilities.values()),
            file=self.file,
            profile=self.plan.variant.profile,
            offers=self.plan.offers,
            draining=self.drains.snapshot(),
        )
