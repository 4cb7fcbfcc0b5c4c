"""``supervisor top`` driven by Textual's pilot (headless) against a real ``supervisor run``.

What the operator sees is read from the widgets themselves: the unit table's cells, the events
log's lines, the screens on top. Set TOP_SCREENSHOT=FILE.svg to keep a screenshot of the main
view (the README's comes from here, converted with rsvg-convert).
"""

import asyncio
import io
import os
import signal
import time

import pytest
from rich.console import Console
from textual.widgets import DataTable, RichLog, Static

from supervisor.views.top.app import TopApp
from supervisor.views.top.screens import ConfirmScreen, DetailScreen, ExplainScreen, LogScreen
from supervisor.views.top.table import RowTable

GRAPH = """
version = 1
name = "shop"
[services.db]
command = ["python3", "-u", "-c", "import time\\nn = 0\\nwhile True:\\n print('tick', n); n += 1; time.sleep(0.3)"]
provides = ["sql"]
stop_timeout = "2s"
[services.web]
command = ["sleep", "600"]
requires = ["sql"]
provides = ["http"]
[services.worker]
command = ["sleep", "600"]
restart = "never"
"""


@pytest.fixture
def shop(supervisor):
    """A supervisor running GRAPH, every unit up."""
    sup = supervisor(GRAPH)
    sup.wait_event("web", "ready")
    sup.wait_event("worker", "ready")
    return sup


def run_top(sup, scenario, size=(110, 32)) -> None:
    async def main() -> None:
        app = TopApp(sup.control, interval=0.5)
        async with app.run_test(size=size) as pilot:
            await scenario(app, pilot)

    asyncio.run(main())


async def until(pilot, predicate, timeout: float = 15.0, what: str = "condition") -> float:
    """Seconds until ``predicate`` holds (checked every 50 ms), or AssertionError at ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def cell(app: TopApp, unit: str, column: str) -> str:
    table = app.query_one("#units", RowTable)
    return table.cell(unit, column) if unit in table.keys else ""


def events(app: TopApp) -> str:
    return "\n".join(line.text for line in app.query_one("#events", RichLog).lines)


def header(app: TopApp) -> str:
    return _plain(app.query_one("#header", Static))


async def select(app: TopApp, pilot, unit: str) -> None:
    table = app.query_one("#units", RowTable)
    table.focus()
    table.move_to(unit)
    await pilot.pause()


def test_top_shows_a_killed_unit_and_its_event_within_2s(shop):

    async def scenario(app, pilot):
        await pilot.press("2")  # the events tab
        await until(pilot, lambda: cell(app, "worker", "state") == "ready", what="the first status")
        assert app.query_one("#units", RowTable).keys == ["db", "worker", "web"]  # by depth
        pid = int(cell(app, "worker", "pid"))
        os.kill(pid, signal.SIGKILL)
        seen = await until(
            pilot,
            lambda: (
                cell(app, "worker", "state") == "failed" and "worker failed killed by SIGKILL" in events(app)
            ),
            timeout=2.0,
            what="the killed unit's state and event",
        )
        assert seen < 2.0
        assert cell(app, "worker", "pid") == "" and "killed by SIGKILL" in cell(app, "worker", "reason")
        assert "not healthy: worker is failed: killed by SIGKILL" in header(app)
        if os.environ.get("TOP_SCREENSHOT"):
            await pilot.pause(1.0)  # a CPU sample in the picture
            with open(os.environ["TOP_SCREENSHOT"], "w") as svg:
                svg.write(app.export_screenshot(title="supervisor top"))

    run_top(shop, scenario)
    assert shop.stop() == 0


def test_stop_restart_and_start_from_the_keys(shop):

    async def scenario(app, pilot):
        await until(pilot, lambda: cell(app, "web", "state") == "ready", what="the first status")
        first = cell(app, "db", "pid")
        await select(app, pilot, "db")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the ConfirmScreen")
        await pilot.press("n")  # asked, and nothing happens on no
        await pilot.pause(0.3)
        assert cell(app, "db", "state") == "ready"
        await pilot.press("x", "y")
        await until(pilot, lambda: cell(app, "db", "state") == "stopped", what="db stopped")
        assert cell(app, "db", "reason") == "stopped by request"
        await until(pilot, lambda: cell(app, "web", "state") == "degraded", what="web degraded")
        assert cell(app, "web", "reason").startswith("needs sql: db stopped by request")
        await pilot.press("s")
        await until(pilot, lambda: cell(app, "web", "state") == "ready", what="web back")
        second = cell(app, "db", "pid")
        assert second not in ("", first)
        await pilot.press("r", "y")
        await until(pilot, lambda: cell(app, "db", "pid") not in ("", first, second), what="db restarted")
        await until(pilot, lambda: cell(app, "db", "state") == "ready", what="db ready again")

    run_top(shop, scenario)
    assert shop.stop() == 0


def test_detail_log_and_what_breaks(shop):

    async def scenario(app, pilot):
        await until(pilot, lambda: cell(app, "db", "state") == "ready", what="the first status")
        await select(app, pilot, "db")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), what="the DetailScreen")
        detail = app.screen.query_one("#detail", Static)
        await until(pilot, lambda: "provides: sql available (db)" in _plain(detail), what="the detail")
        lines = app.screen.query_one("#lines", Static)
        await until(pilot, lambda: "| tick" in _plain(lines), what="its last lines")
        assert shop.ctl("stop", "worker").returncode == 0  # a change while the detail shows
        await until(pilot, lambda: cell(app, "worker", "state") == "stopped", what="the main view kept")
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("l")  # its log, following
        await until(pilot, lambda: isinstance(app.screen, LogScreen), what="the LogScreen")
        log = app.screen.query_one(RichLog)
        await until(pilot, lambda: "| tick" in _log(log), what="the log's first lines")
        last = _last_tick(log)
        await until(pilot, lambda: _last_tick(log) > last, what="a new line, followed")
        await pilot.press("escape", "escape")
        assert not isinstance(app.screen, DetailScreen | LogScreen)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExplainScreen), what="the ExplainScreen")
        text = _plain(app.screen.query_one(Static))
        assert "impact of switching db off" in text and "web cannot start" in text
        await pilot.press("escape", "slash", "w", "e", "b")
        assert app.query_one("#units", RowTable).keys == ["web"]
        await pilot.press("escape")
        assert app.query_one("#units", RowTable).keys == ["db", "worker", "web"]

    run_top(shop, scenario)
    assert shop.stop() == 0


def test_a_unit_a_reload_removes_loses_its_row_and_one_it_adds_gets_one(shop, tmp_path):
    after = tmp_path / "after.toml"
    after.write_text(GRAPH.split("[services.worker]")[0] + '[services.cache]\ncommand = ["sleep", "600"]\n')

    async def scenario(app, pilot):
        await pilot.press("2")  # the events tab
        await until(pilot, lambda: cell(app, "worker", "state") == "ready", what="the first status")
        await select(app, pilot, "worker")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), what="the DetailScreen")
        reloaded = await asyncio.to_thread(shop.ctl, "reload", str(after), timeout=60)
        assert reloaded.returncode == 0, reloaded.stderr
        table = app.query_one("#units", RowTable)
        await until(
            pilot,
            lambda: "worker" not in table.keys and cell(app, "cache", "state") == "ready",
            what="worker's row gone, cache's there",
        )
        assert "worker removed a reload removed it from the graph" in events(app)
        assert "worker" not in header(app) and "3 units" in header(app)
        await pilot.press("x")  # on the detail of the unit removed: nothing left to stop
        await pilot.pause(0.3)
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("escape")
        assert sorted(table.keys) == ["cache", "db", "web"]

    async def later(app, pilot):
        """A top started after worker came back: the backlog's ``worker removed`` is older than it."""
        await pilot.press("2")
        await until(pilot, lambda: "worker added" in events(app), what="the backlog")
        await pilot.pause(0.5)
        assert sorted(app.query_one("#units", RowTable).keys) == ["db", "web", "worker"]

    run_top(shop, scenario)
    assert shop.ctl("reload", str(shop.graph), timeout=60).returncode == 0
    shop.wait_event("worker", "ready", count=2)
    run_top(shop, later)
    assert shop.stop() == 0


def capability_rows(app: TopApp) -> list[str]:
    table = app.query_one("#capabilities", DataTable)
    return sorted(str(table.get_row_at(row)[0]) for row in range(table.row_count))


def test_a_capability_a_reload_removes_loses_its_row_and_one_it_adds_gets_one(shop, tmp_path):
    """A removed capability used to keep its row (only the next status dropped it)."""
    after = tmp_path / "after.toml"
    after.write_text(GRAPH.replace('provides = ["http"]', 'provides = ["https"]'))

    async def scenario(app, pilot):
        await pilot.press("2")  # the events tab
        await until(pilot, lambda: capability_rows(app) == ["http", "sql"], what="the first status")
        reloaded = await asyncio.to_thread(shop.ctl, "reload", str(after), timeout=60)
        assert reloaded.returncode == 0, reloaded.stderr
        await until(pilot, lambda: capability_rows(app) == ["https", "sql"], what="http's row gone, https's there")
        assert "supervisor capability-removed http: a reload removed it from the graph" in events(app)
        assert "supervisor capability-added https: a reload added it to the graph" in events(app)

    async def later(app, pilot):
        """A top started after http came back: the backlog's ``capability-removed`` is older than it."""
        await pilot.press("2")
        await until(pilot, lambda: "capability-added http" in events(app), what="the backlog")
        await pilot.pause(0.5)
        assert capability_rows(app) == ["http", "sql"]

    run_top(shop, scenario)
    removed = shop.wait_event("supervisor", "capability-removed")
    assert (removed["capability"], removed["message"]) == ("http", "http: a reload removed it from the graph")
    assert shop.ctl("reload", str(shop.graph), timeout=60).returncode == 0
    shop.wait_event("supervisor", "capability-added", count=2)
    run_top(shop, later)
    assert shop.stop() == 0


def test_top_says_when_the_supervisor_goes_away_and_reconnects(supervisor):
    first = supervisor(GRAPH)
    first.wait_event("web", "ready")
    started = []

    async def scenario(app, pilot):
        await until(pilot, lambda: cell(app, "web", "state") == "ready", what="the first status")
        assert first.stop() == 0
        await until(pilot, lambda: "supervisor gone" in header(app), what="gone")
        assert "reconnecting to" in header(app)
        second = supervisor(GRAPH)  # the same runtime directory: the same control socket
        started.append(second)
        await until(pilot, lambda: f"pid {second.process.pid}" in header(app), timeout=30, what="reconnected")
        await until(pilot, lambda: cell(app, "web", "state") == "ready", what="the new status")

    run_top(first, scenario)
    assert started[0].stop() == 0


def _plain(widget: Static) -> str:
    """The text a Static shows (what it was given: a rich renderable or a string)."""
    console = Console(width=200, file=io.StringIO())
    console.print(widget.content)
    return console.file.getvalue()


def _log(log: RichLog) -> str:
    return "\n".join(line.text for line in log.lines)


def _last_tick(log: RichLog) -> int:
    ticks = [int(line.text.rsplit(" ", 1)[1]) for line in log.lines if "| tick" in line.text]
    return ticks[-1] if ticks else -1
