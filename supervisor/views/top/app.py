"""``top``'s main view: the units, the capabilities, the graph and the events of a running
supervisor, kept current by one ``watch`` connection (the supervisor pushes every change).

It holds the last status it was given (typed records) and redraws only what an update touches.
When the supervisor goes away it says so, keeps the last picture, and reconnects.
"""

import asyncio
import time
from collections import Counter

import attrs
from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Input, RichLog, Static, TabbedContent, TabPane

from supervisor.status import CapabilityStatus, Event, GraphStatus, Lost, UnitStatus
from supervisor.views.status import STYLE, capability_row, event_text, ordered, unit_row
from supervisor.views.top.connection import Refused, request, watch
from supervisor.views.top.graph import graph_tree
from supervisor.views.top.screens import (
    UNIT_KEYS,
    ConfirmScreen,
    DetailScreen,
    ExplainScreen,
    LogScreen,
    unit_detail,
)
from supervisor.views.top.table import RowTable
from supervisor.views.top.usage import Sampler, Usage, megabytes
from supervisor.wording import join_names

EVENTS_SHOWN = 500
RECONNECT = (0.2, 5.0)
"""First and longest wait between attempts to reach a supervisor that went away."""
REDRAW = 0.25
"""Seconds from an update to its redraw: what else arrives meanwhile is drawn with it."""
WIDE = 110
"""From this many columns on, the unit table also shows each unit's last exit."""
_COLUMNS = [("state", 8), ("pid", 7), ("up", 6), ("↻", 3), ("last exit", 10), ("cpu", 4), ("mem", 5)]


class TopApp(App):
    TITLE = "supervisor top"
    CSS = """
    #header { height: 2; padding: 0 1; background: $boost; }
    #header.gone { background: $error 40%; }
    #units { height: 1fr; }
    #below { height: 45%; }
    #filter { display: none; }
    #filter.shown { display: block; }
    """
    BINDINGS = [
        Binding("q", "quit", "quit"),
        *UNIT_KEYS,
        Binding("slash", "filter", "filter"),
        Binding("escape", "clear_filter", "clear filter", show=False),
        Binding("1", "tab('capabilities-tab')", "capabilities", show=False),
        Binding("2", "tab('events-tab')", "events", show=False),
        Binding("3", "tab('graph-tab')", "graph", show=False),
    ]

    def __init__(self, path: str, interval: float = 2.0) -> None:
        super().__init__()
        self.path = path
        self.interval = interval
        self.status: GraphStatus | None = None
        self.units: dict[str, UnitStatus] = {}
        self.capabilities: dict[str, CapabilityStatus] = {}
        self.usage: dict[int, Usage] = {}
        self.sampler = Sampler()
        self.filter = ""
        self.gone: str | None = "connecting"
        self.last_event = 0
        self._graph_stale = True
        self._capabilities_stale = False
        self._stale_units: set[str] = set()
        self._redraw_pending = False

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield RowTable(id="units")
        yield Input(placeholder="filter units (name, state, reason); escape clears", id="filter")
        with TabbedContent(id="below"):
            with TabPane("1 capabilities", id="capabilities-tab"):
                yield DataTable(id="capabilities", cursor_type="row")
            with TabPane("2 events", id="events-tab"):
                yield RichLog(id="events", max_lines=EVENTS_SHOWN, wrap=False)
            with TabPane("3 graph", id="graph-tab"):
                with VerticalScroll():
                    yield Static(id="graph")
        yield Footer()

    def on_mount(self) -> None:
        self._columns()
        self.query_one("#capabilities", DataTable).add_columns(
            "capability", "state", "provider", "consumers", "last check"
        )
        self._header()
        self.follow()
        if self.interval > 0:
            self.set_interval(self.interval, self.tick)

    def on_resize(self) -> None:
        self._columns()
        self._rows()

    def _columns(self) -> None:
        """Fixed widths, so a cell never pushes the reason off the screen: the reason gets what
        the terminal has left (cells are cut, the detail screen shows them whole)."""
        columns = [("unit", max([4, *(len(name) for name in self.units)])), *_COLUMNS, ("reason", 0)]
        if self.size.width < WIDE:
            columns.remove(("last exit", 10))
        self.query_one("#units", RowTable).set_columns(columns)

    # -- the supervisor's updates ----------------------------------------------------------

    @work(exclusive=True, group="watch")
    async def follow(self) -> None:
        """Watch the supervisor for as long as top runs, reconnecting when it goes away."""
        delay = RECONNECT[0]
        while True:
            try:
                async for update in watch(self.path, backlog=EVENTS_SHOWN):
                    self.apply(update)
                    delay = RECONNECT[0]
            except (OSError, Refused) as error:
                self._went_away(str(error) or type(error).__name__)
            except (KeyError, ValueError, TypeError) as error:
                self._went_away(f"cannot read its answer ({error!r}): another version of graph-supervisor?")
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT[1])

    def apply(self, update) -> None:
        """Take one update into the model; what it changes on screen is redrawn a moment later
        (``REDRAW``), together with whatever else changed meanwhile."""
        if isinstance(update, GraphStatus):
            if self.status is None or update.pid != self.status.pid:
                self.last_event = 0  # another supervisor: its events are numbered anew
            self.status, self.gone = update, None
            self.units = {unit.unit: unit for unit in ordered(update.services)}
            self.capabilities = {c.name: c for c in update.capabilities}
            self._columns()
            self._rows()
            self._capabilities_stale = True
        elif isinstance(update, UnitStatus):
            self.units[update.unit] = update
            self._stale_units.add(update.unit)
        elif isinstance(update, CapabilityStatus):
            self.capabilities[update.name] = update
            self._capabilities_stale = True
        elif isinstance(update, Event):
            if update.seq > self.last_event:
                self.last_event = update.seq
                self.query_one("#events", RichLog).write(event_text(update))
                if update.kind == "removed":
                    self._removed(update)
                elif update.kind == "capability-removed":
                    self._capability_removed(update)
        elif isinstance(update, Lost):
            message = f"... {update.count} updates lost: top did not keep up; brought up to date"
            self.query_one("#events", RichLog).write(Text(message, style="yellow"))
        self._graph_stale = True
        if not self._redraw_pending:
            self._redraw_pending = True
            self.set_timer(REDRAW, self._redraw)

    def _removed(self, event: Event) -> None:
        """A reload removed a unit: its row goes (nothing more comes of it). Not a unit of the same
        name added since, whose record is newer than the event (an old event of the backlog); the
        record's ``since`` is sent to the millisecond, the event's ``time`` to the microsecond."""
        unit = self.units.get(event.unit)
        if unit is not None and unit.since <= round(event.time, 3):
            del self.units[event.unit]
            self._stale_units.discard(event.unit)
            self._rows()

    def _capability_removed(self, event: Event) -> None:
        """A reload removed a capability: its row goes, as a removed unit's does (one it added is
        the capability update that follows its ``capability-added``)."""
        capability = self.capabilities.get(event.capability)
        if capability is not None and capability.since <= round(event.time, 3):
            del self.capabilities[event.capability]
            self._capabilities_stale = True

    def _redraw(self) -> None:
        """Draw what changed since the last redraw: a table redraws all its visible rows for any
        change, so a burst of updates (a restart is four or five) is drawn once, not each time."""
        self._redraw_pending = False
        stale, self._stale_units = self._stale_units, set()
        try:
            for name in stale:
                self._unit_row(self.units[name])
                self._show_detail(name)
            if self._capabilities_stale:
                self._capability_rows()
            self._graph()
            self._header()
        except NoMatches:  # the timer fired as top closes: its widgets are already gone
            return

    def _went_away(self, why: str) -> None:
        if self.gone is None:
            self.query_one("#events", RichLog).write(Text(f"supervisor gone: {why}", style="bold red"))
        self.gone = f"{why} at {time.strftime('%H:%M:%S')}" if self.gone is None else self.gone
        self._header()

    # -- drawing ---------------------------------------------------------------------------

    def _header(self) -> None:
        header = self.query_one("#header", Static)
        header.set_class(self.gone is not None, "gone")
        if self.status is None:
            header.update(Text(f"connecting to {self.path} ...", style="bold"), layout=False)
            return
        status = self.status
        line = Text(f"graph {status.graph}", style="bold", no_wrap=True, overflow="ellipsis")
        if status.profile:
            line.append(f" ({status.profile})")
        line.append(f" pid {status.pid}  ", style="dim")
        counts = Counter(unit.state for unit in self.units.values())
        line.append(f"{len(self.units)} units: ")
        for index, (state, count) in enumerate(counts.items()):
            line.append(", " if index else "")
            line.append(f"{count} {state.value}", style=STYLE[state])
        if self.gone is not None:
            second = Text(f"supervisor gone ({self.gone}): reconnecting to {self.path}", style="bold")
        else:
            problems = self.current().problems()
            if problems:
                second = Text("not healthy: ", style="bold red") + Text(problems[0])
                if len(problems) > 1:
                    second.append(f" (+{len(problems) - 1} more)", style="dim")
            else:
                second = Text("healthy", style="green")
        second.no_wrap, second.overflow = True, "ellipsis"
        header.update(Group(line, second), layout=False)  # two lines, whatever they say

    def current(self) -> GraphStatus:
        """The last status with every update since applied."""
        return attrs.evolve(
            self.status, services=tuple(self.units.values()), capabilities=tuple(self.capabilities.values())
        )

    def _shown(self, unit: UnitStatus) -> bool:
        words = f"{unit.unit} {unit.state.value} {unit.reason}".lower()
        return self.filter.lower() in words

    def _cells(self, unit: UnitStatus, now: float) -> list:
        """The unit's cells in column order (the reason cut to one line: the detail has it all)."""
        cells = unit_row(unit, now)
        usage = self.usage.get(unit.pid) if unit.pid else None
        resources = [f"{usage.cpu:.0f}%", megabytes(usage.rss)] if usage else ["", ""]
        exit_cell = [unit.last_exit.short() if unit.last_exit else ""] if self.size.width >= WIDE else []
        return [*cells[:5], *exit_cell, *resources, cells[5]]

    def _rows(self) -> None:
        now = time.time()
        rows = [(unit.unit, self._cells(unit, now)) for unit in self.units.values() if self._shown(unit)]
        self.query_one("#units", RowTable).set_rows(rows)

    def _unit_row(self, unit: UnitStatus) -> None:
        table = self.query_one("#units", RowTable)
        if (unit.unit in table.keys) != self._shown(unit):  # the filter takes it in or out
            self._rows()
        elif unit.unit in table.keys:
            table.update_row(unit.unit, self._cells(unit, time.time()))

    def _capability_rows(self) -> None:
        self._capabilities_stale = False
        table = self.query_one("#capabilities", DataTable)
        row = table.cursor_row
        table.clear()
        now = time.time()
        for capability in self.capabilities.values():
            table.add_row(*capability_row(capability, now, wide=True))
        if self.capabilities:
            table.move_cursor(row=min(row, len(self.capabilities) - 1))

    def _graph(self) -> None:
        """Redraw the graph tab when it shows and something changed since it was drawn."""
        showing = self.query_one(TabbedContent).active == "graph-tab"
        if self._graph_stale and self.status is not None and showing:
            self.query_one("#graph", Static).update(graph_tree(self.current()))
            self._graph_stale = False

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    @on(TabbedContent.TabActivated)
    def _tab(self) -> None:
        self._graph()

    def tick(self) -> None:
        """Every ``interval``: CPU and memory of the processes of the units on screen (only those:
        a sample is a few /proc reads each), their uptimes, and the capabilities' check ages."""
        try:
            table, tabs = self.query_one("#units", RowTable), self.query_one(TabbedContent)
        except NoMatches:  # the app is closing: its widgets go before its timers stop
            return
        visible = [self.units[key] for key in table.visible_keys()]
        self.usage = self.sampler.sample({unit.pid for unit in visible if unit.pid})
        for unit in visible:
            if unit.pid:
                self._unit_row(unit)
        if tabs.active == "capabilities-tab":
            self._capability_rows()

    # -- the selected unit and what to do with it ------------------------------------------

    def selected(self) -> str | None:
        """The unit under the cursor, or the one a detail screen shows."""
        if isinstance(self.screen, DetailScreen):
            return self.screen.unit if self.screen.unit in self.units else None  # a reload removed it
        return self.query_one("#units", RowTable).cursor_key

    @on(RowTable.Selected, "#units")
    def _open(self, event: RowTable.Selected) -> None:
        self.push_screen(DetailScreen(event.key))

    def show_detail(self, screen: DetailScreen) -> None:
        self._show_detail(screen.unit)

    def _show_detail(self, name: str) -> None:
        if isinstance(self.screen, DetailScreen) and self.screen.unit == name and name in self.units:
            self.screen.show(unit_detail(self.units[name], self.capabilities, time.time()))

    def _dependents(self, name: str) -> list[str]:
        unit = self.units[name]
        return sorted(
            {c for p in unit.provides if p in self.capabilities for c in self.capabilities[p].consumers}
        )

    def action_start(self) -> None:
        if (name := self.selected()) is not None:
            self.control("start", name)

    def action_stop(self) -> None:
        self._confirmed("stop")

    def action_restart(self) -> None:
        self._confirmed("restart")

    def _confirmed(self, command: str) -> None:
        name = self.selected()
        if name is None:
            return
        unit = self.units[name]
        question = f"{command} {name}?"
        if unit.provides:
            question += f" It provides {join_names(unit.provides)}"
            dependents = self._dependents(name)
            question += f", which {join_names(dependents)} require." if dependents else "."
        self.push_screen(ConfirmScreen(question), lambda yes: self.control(command, name) if yes else None)

    @work(group="control")
    async def control(self, command: str, name: str) -> None:
        try:
            answer = await request(self.path, {"command": command, "target": name})
        except (OSError, Refused) as error:
            self.notify(f"{command} {name}: {error}", severity="error")
            return
        self.notify(f"{command}: {', '.join(answer['units'])}")

    def action_log(self) -> None:
        if (name := self.selected()) is not None:
            self.push_screen(LogScreen(name))

    def action_explain(self) -> None:
        """What breaks if the selected unit's service stops, as ``supervisor explain`` says it."""
        name = self.selected()
        if name is None or self.status is None:
            return
        from supervisor.graph.loader import GraphFileError, load_file
        from supervisor.views.explain import explain, render

        service = self.units[name].service
        try:
            graph = load_file(self.status.file).graph
        except GraphFileError as error:
            graph, why = None, str(error)
        else:
            why = f"{self.status.file} no longer loads as a graph"
        if graph is None or service not in graph.services:
            self.notify(f"cannot explain {service}: {why}", severity="error")
            return
        self.push_screen(ExplainScreen(render(explain(graph, service, self.status.profile))))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filtered(self, event: Input.Changed) -> None:
        self.filter = event.value
        self._rows()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#units", RowTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("shown")
        self.query_one("#units", RowTable).focus()
