"""The running graph's status for people: colours, durations and the one-shot tables.

``supervisor status`` prints the tables; ``supervisor top`` uses the same words and colours
for its live view. Both read the typed records of :mod:`supervisor.status`, never raw JSON.
"""

import time

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from supervisor.runtime.log import EVENT_STYLE
from supervisor.status import (
    CapabilityState,
    CapabilityStatus,
    CheckResult,
    Event,
    GraphStatus,
    OutputLine,
    UnitState,
    UnitStatus,
)

STYLE = {
    UnitState.READY: "green",
    UnitState.DONE: "green",
    UnitState.DEGRADED: "yellow",
    UnitState.BACKOFF: "yellow",
    UnitState.WAITING: "yellow",
    UnitState.STARTING: "cyan",
    UnitState.STOPPING: "cyan",
    UnitState.STOPPED: "dim",
    UnitState.FAILED: "bold red",
    CapabilityState.AVAILABLE: "green",
    CapabilityState.LOST: "bold red",
    CapabilityState.UNAVAILABLE: "red",
}


def styled(state: UnitState | CapabilityState) -> Text:
    return Text(state.value, style=STYLE[state])


def duration(seconds: float | None) -> str:
    """``4.2s``, ``3m07s``, ``2h05m``, ``3d04h``; empty for None."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def ordered(services: tuple[UnitStatus, ...]) -> list[UnitStatus]:
    """Providers before the services that need them (graph depth), then in graph order."""
    return sorted(services, key=lambda unit: unit.depth)


def check_summary(check: CheckResult | None, now: float) -> Text:
    """``ok 3.0s ago (12ms): first line of output``, or ``never checked``."""
    if check is None:
        return Text("no check yet", style="dim")
    text = Text("ok" if check.ok else "failed", style="green" if check.ok else "bold red")
    text.append(f" {duration(max(0.0, now - check.time))} ago")
    if check.duration is not None:
        text.append(f" ({check.duration * 1000:.0f}ms)")
    if first_line(check.output):
        text.append(f": {first_line(check.output)}")
    return text


def unit_row(unit: UnitStatus, now: float, wide: bool = False) -> list:
    """The cells of one unit: unit, state, pid, uptime, restarts, then (wide) last exit, kind
    and what it provides, then its reason (in full when wide, else its ``summary``)."""
    cells = [
        unit.unit,
        styled(unit.state),
        str(unit.pid or ""),
        duration(unit.uptime(now)),
        str(unit.restarts),
    ]
    if wide:
        cells += [unit.last_exit.short() if unit.last_exit else "", unit.kind, ", ".join(unit.provides)]
    return [*cells, unit.reason if wide else unit.summary]


UNIT_COLUMNS = ("unit", "state", "pid", "up", "restarts")


def units_table(status: GraphStatus, wide: bool = False, now: float | None = None) -> Table:
    """One row per unit; the reason cut to one line (``wide``: all of it, with kind and provides)."""
    now = time.time() if now is None else now
    title = f"graph {escape(status.graph)}" + (
        f", profile {escape(status.profile)}" if status.profile else ""
    )
    table = Table(title=f"{title} (supervisor pid {status.pid})", title_justify="left", expand=not wide)
    for column in UNIT_COLUMNS:
        table.add_column(column, no_wrap=True)
    if wide:
        table.add_column("last exit", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("provides")
    table.add_column("reason", overflow="fold" if wide else "ellipsis", no_wrap=not wide, ratio=1)
    for unit in ordered(status.services):
        table.add_row(*unit_row(unit, now, wide))
    return table


def capabilities_table(status: GraphStatus, wide: bool = False, now: float | None = None) -> Table:
    now = time.time() if now is None else now
    table = Table(title="capabilities", title_justify="left", expand=not wide)
    for column in ("capability", "state", "provider"):
        table.add_column(column, no_wrap=True)
    if wide:
        table.add_column("consumers")
    table.add_column("last check", overflow="fold" if wide else "ellipsis", no_wrap=not wide, ratio=1)
    for capability in status.capabilities:
        table.add_row(*capability_row(capability, now, wide))
    return table


def draining_table(status: GraphStatus, now: float | None = None) -> Table | None:
    """The old processes of restarted units finishing their sessions (None: there are none)."""
    if not status.draining:
        return None
    now = time.time() if now is None else now
    table = Table(title="draining", title_justify="left")
    for column in ("unit", "pid", "draining for", "SIGKILL at"):
        table.add_column(column, no_wrap=True)
    for draining in status.draining:
        since = duration(now - draining.since)
        table.add_row(draining.unit, str(draining.pid), since, clock(draining.deadline))
    return table


def capability_row(capability: CapabilityStatus, now: float, wide: bool = False) -> list:
    cells = [capability.name, styled(capability.state), capability.provider or ""]
    if wide:
        cells.append(", ".join(capability.consumers))
    return [*cells, check_summary(capability.last_check, now)]


def clock(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds))


def event_text(event: Event) -> Text:
    """``12:00:01 web@1 ready message``, the event coloured as the supervisor's log colours it."""
    text = Text(f"{clock(event.time)} ", style="dim")
    text.append(event.unit, style="bold")
    text.append(f" {event.kind}", style=EVENT_STYLE.get(event.kind, "bold"))
    if event.message:
        text.append(" " + event.message.replace("\n", " "))
    return text


def output_text(line: OutputLine, unit: bool = True) -> Text:
    """``12:00:01 web@1 | line`` (``!`` for stderr); without the unit when there is only one."""
    text = Text(f"{clock(line.time)} ", style="dim")
    if unit:
        text.append(f"{line.unit} ", style="bold")
    text.append("! " if line.stream == "stderr" else "| ", style="dim")
    text.append(line.line)
    return text
