"""Reloads and restarts of a running graph, in-process on trio's MockClock (``tests/helpers/simulated.py``):
what ``exit_when`` waits for after a reload, and restarts of one unit one at a time.

The graphs reloaded here name commands that exist on the machine (lint looks for them), each run
by a simulated program of that name.
"""

import pytest
import trio

from supervisor.runtime.restart import restart_rolling
from tests.helpers.simulated import Run, exits, graceful, reloaded, serve, simulate

MAIN_FIRST = """
version = 1
exit_when = "main-ended"
[services.first]
command = ["sleep", "600"]
main = true
"""

MAIN_SECOND = """
version = 1
exit_when = "main-ended"
[services.second]
command = ["sh", "-c", "sleep 2; exit 3"]
main = true
restart = "never"
"""


def test_a_reload_that_changes_the_main_service_waits_for_the_new_one(tmp_path):
    """The main service the graph started with is removed (which stops it): the graph goes on
    until the new main service ends, and exits with its status."""

    async def scenario(run: Run) -> None:
        await trio.sleep(1)
        assert (await reloaded(run, MAIN_SECOND)).refused == ""
        await run.rt.shutdown_requested.wait()

    run = simulate(tmp_path, MAIN_FIRST, {"sleep": serve, "sh": exits(3, after=2)}, scenario)
    assert run.events.at("second", "started") == pytest.approx([1])
    assert run.events.at("supervisor", "finished") == pytest.approx([3])
    assert run.rt.exit_code == 3


BEFORE = """
version = 1
{exit_when}
[services.job]
command = ["sh", "-c", "exit 0"]
kind = "oneshot"
[services.kept]
command = ["sleep", "600"]
"""

AFTER = """
version = 1
exit_when = "all-ended"
[services.job]
command = ["sh", "-c", "exit 0"]
kind = "oneshot"
[services.batch]
command = ["sleep", "5"]
kind = "oneshot"
"""


async def sleep(proc) -> int:
    """``sleep SECONDS``."""
    await trio.sleep(float(proc.argv[1]))
    return 0


@pytest.mark.parametrize("exit_when", ['exit_when = "all-ended"', ""])
def test_after_a_reload_exit_when_waits_for_the_units_it_added_not_those_it_removed(tmp_path, exit_when):
    """``job`` is done before the reload, which removes ``kept`` (stopping it) and adds ``batch``
    (and, to a graph that did not end by itself, ``exit_when``): the graph ends when ``batch``
    has, not before."""

    async def scenario(run: Run) -> None:
        await trio.sleep(1)
        assert (await reloaded(run, AFTER)).refused == ""
        with trio.move_on_after(30):
            await run.rt.shutdown_requested.wait()

    before = BEFORE.format(exit_when=exit_when)
    run = simulate(tmp_path, before, {"sh": exits(0, after=0.5), "sleep": sleep}, scenario)
    assert run.events.at("job", "done") == pytest.approx([0.5])
    assert run.events.at("kept", "stopped") == pytest.approx([1])
    assert run.events.at("batch", "done") == pytest.approx([6])
    assert run.events.at("supervisor", "finished") == pytest.approx([6])
    assert run.rt.exit_code == 0


TWO = """
version = 1
[services.web]
command = ["web"]
[services.other]
command = ["web"]
"""


def test_restarts_of_one_unit_wait_for_each_other_and_of_two_units_do_not(tmp_path):
    """``web`` is restarted twice at once, ``other`` once beside them; a process takes a second to
    stop. The second restart of ``web`` starts once the first is done and restarts the process
    the first started; ``other``'s restart goes on meanwhile."""
    steps: dict[str, list] = {}

    async def restart(name: str, target: str, run: Run) -> None:
        steps[name] = await restart_rolling(run.rt, run.rt.select(target))

    async def scenario(run: Run) -> None:
        await trio.sleep(1)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(restart, "first", "web", run)
            nursery.start_soon(restart, "other", "other", run)
            await trio.sleep(0.1)
            nursery.start_soon(restart, "second", "web", run)

    run = simulate(tmp_path, TWO, {"web": graceful(after=1)}, scenario)
    # the first restart ends with its process ready (up for 200 ms: it declares no ready check)
    assert run.events.at("web", "started") == pytest.approx([0, 2, 3.2])
    assert run.events.at("other", "started") == pytest.approx([0, 2])
    first, second, _ = (p.pid for p in run.children.procs if p.env["SUPERVISOR_UNIT"] == "web")
    assert [s.done for s in steps["first"]] == [f"restarted: old pid {first} stopped, new pid {second} ready"]
    assert steps["second"][0].done.startswith(f"restarted: old pid {second} stopped, new pid ")
    assert all(s.ok for name in steps for s in steps[name])


MAIN = """
version = 1
exit_when = "main-ended"
[services.main]
command = ["main"]
main = true
"""


def test_a_restart_of_the_main_service_does_not_end_the_graph(tmp_path):
    """A restart stops the unit before it starts it again: stopped on request, it has ended for
    ``exit_when``, unless its restart is still under way. (Before, whether the graph ended depended
    on which of two tasks woke first: ten restarts in a row would all have survived 1 time in 1024.)"""

    async def scenario(run: Run) -> None:
        await trio.sleep(1)
        for _ in range(10):
            (step,) = await restart_rolling(run.rt, run.rt.select("main"))
            assert step.ok, step.done
        assert not run.rt.shutdown_requested.is_set()

    run = simulate(tmp_path, MAIN, {"main": graceful(after=0.5)}, scenario)
    assert len(run.events.at("main", "started")) == 11
    assert run.events.of("supervisor", "finished") == []


REPLICAS = """
version = 1
[services.web]
command = ["sleep", "600"]
replicas = {count}
"""


def test_each_unit_a_reload_removes_or_adds_is_an_event_under_its_name(tmp_path):
    """Replicas too: ``web@3`` goes, then comes back with ``web@4``; nothing is logged of it in
    between, and an added unit's first event says where it comes from."""

    async def scenario(run: Run) -> None:
        await trio.sleep(1)
        assert (await reloaded(run, REPLICAS.format(count=2))).refused == ""
        await trio.sleep(1)
        assert (await reloaded(run, REPLICAS.format(count=4))).refused == ""
        await trio.sleep(1)

    run = simulate(tmp_path, REPLICAS.format(count=3), {"sleep": serve}, scenario)
    third = run.events.names("web@3")
    assert third[third.index("removed") - 1 : third.index("removed") + 2] == ["stopped", "removed", "added"]
    assert run.events.of("web@3", "removed")[0]["message"] == "a reload removed it from the graph"
    assert run.events.names("web@4")[0] == "added"
    assert run.events.of("web@4", "added")[0]["message"] == "a reload added it to the graph"
    assert "removed" not in run.events.names("web@1") + run.events.names("web@2")
