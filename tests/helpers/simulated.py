"""The runtime's logic on trio's MockClock: the real ``Runtime`` and ``supervise``, simulated processes.

What the restart policy, backoff, crash-loop protection, start and stop order, lost capabilities
and every timeout do is decided by ``supervise`` and ``Runtime`` on trio's clock. Against real
processes a test of it waits in wall-clock time and can only bound what it sees; here the clock is
a MockClock that jumps whenever every task is blocked, so a test sees the exact instant of each
event, takes milliseconds, and does not depend on how loaded the machine is.

Only the operating system is simulated. :class:`Simulated` takes the place of the runtime's
``Children``, the one place it spawns, signals and reaps processes, and runs for each spawn a
*program*: an async function of a :class:`Proc` that writes lines, exits with a status, or traps
and answers signals. The programs are named by the command's first word in the graph (exec probes
included); everything between the graph and the programs is the code that ships, down to the JSON
event log, read back here as :class:`Events`. What real processes bring (sessions and process
groups, pipes, exit statuses, the notify socket) is tested with real ones in the other runtime tests.
"""

import itertools
import json
import math
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import attrs
import trio
import trio.testing

from supervisor.check.analysis import selected
from supervisor.check.plan import Plan
from supervisor.graph.loader import load_file
from supervisor.runtime.children import Children, SpawnError
from supervisor.runtime.core import Runtime
from supervisor.runtime.launch import Launch
from supervisor.runtime.log import Log
from supervisor.runtime.main import run_units
from supervisor.runtime.prepare import check_context
from supervisor.runtime.reload import Reloaded, reload

_FIRST_PID = 1 << 30
"""Above any kernel's pid_max (at most 2**22): a simulated pid can never name a real process."""


@attrs.define(eq=False)
class Proc:
    """One simulated process: its argv and environment, its output, the signals it was sent."""

    pid: int
    argv: tuple[str, ...]
    env: Mapping[str, str]
    merge_stderr: bool
    returncode: int | None = None
    signals: list[int] = attrs.field(factory=list)
    """Every signal sent to its group, in order."""
    trapped: set[int] = attrs.field(factory=set)
    _deliver: Callable[[int, dict[str, str]], None] | None = None
    _scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    _exited: trio.Event = attrs.field(factory=trio.Event)
    _pending: tuple = attrs.field(factory=lambda: trio.open_memory_channel(math.inf))
    _pipes: tuple = attrs.field(
        factory=lambda: (trio.testing.memory_stream_one_way_pair(), trio.testing.memory_stream_one_way_pair())
    )

    @property
    def stdout(self) -> trio.abc.ReceiveStream:
        return self._pipes[0][1]

    @property
    def stderr(self) -> trio.abc.ReceiveStream:
        return self._pipes[1][1]

    async def wait(self) -> int:
        await self._exited.wait()
        return self.returncode

    # -- what a program does ---------------------------------------------------------------

    async def say(self, line: str, stream: str = "stdout") -> None:
        """Write ``line`` and a newline to stdout or stderr."""
        pipe = self._pipes[0 if stream == "stdout" or self.merge_stderr else 1][0]
        await pipe.send_all(line.encode() + b"\n")

    def trap(self, *signals: int) -> None:
        """Handle ``signals`` (never SIGKILL) in the program, through ``signalled``, instead of dying."""
        self.trapped.update(signals)

    async def signalled(self) -> int:
        """The next trapped signal."""
        return await self._pending[1].receive()

    def notify(self, **fields: str) -> None:
        """What ``sd_notify`` sends on NOTIFY_SOCKET, delivered as the notify server delivers it."""
        assert "NOTIFY_SOCKET" in self.env, f"{self.argv[0]} has no NOTIFY_SOCKET"
        self._deliver(self.pid, fields)

    # -- what the simulated kernel does ----------------------------------------------------

    async def run(self, program: "Program") -> None:
        with self._scope:
            code = await program(self)
            self.end(code)

    def kill(self, sig: int) -> None:
        self.signals.append(sig)
        if sig in self.trapped and sig != signal.SIGKILL:
            self._pending[0].send_nowait(sig)
        else:
            self.end(-sig)

    def end(self, code: int) -> None:
        if self.returncode is not None:
            return
        self.returncode = code
        for send, _ in self._pipes:
            send.close()
        self._scope.cancel()
        self._exited.set()


Program = Callable[[Proc], Awaitable[int]]


@attrs.define
class Simulated(Children):
    """The runtime's ``Children``, spawning :data:`Program` s instead of processes."""

    programs: Mapping[str, Program] = attrs.field(factory=dict)
    nursery: trio.Nursery | None = None
    deliver: Callable[[int, dict[str, str]], None] | None = None
    procs: list[Proc] = attrs.field(factory=list)
    _next_pid: itertools.count = attrs.field(init=False, factory=lambda: itertools.count(_FIRST_PID))

    async def spawn(self, launch: Launch, *, merge_stderr: bool = False) -> Proc:
        program = self.programs.get(launch.command[0])
        if program is None:
            raise SpawnError(f"command {launch.command[0]!r} not found")
        proc = Proc(next(self._next_pid), launch.command, launch.env, merge_stderr, deliver=self.deliver)
        self.procs.append(proc)
        self.pids.add(proc.pid)
        self.nursery.start_soon(proc.run, program)
        await trio.lowlevel.checkpoint()
        return proc

    def signal_group(self, pid: int, sig: int) -> bool:
        proc = next((p for p in self.procs if p.pid == pid), None)
        if proc is None or proc.returncode is not None:
            return False
        proc.kill(sig)
        return True

    def of(self, command: str) -> list[Proc]:
        """The processes started for ``command``, oldest first."""
        return [p for p in self.procs if p.argv[0] == command]


@attrs.define
class Events:
    """The runtime's JSON event log as it is written, each record stamped with trio's clock (``at``)."""

    records: list[dict] = attrs.field(factory=list)
    _written: trio.Event = attrs.field(factory=trio.Event)

    def write(self, text: str) -> None:
        for line in text.splitlines():
            self.records.append({**json.loads(line), "at": trio.current_time()})
        self._written.set()
        self._written = trio.Event()

    def flush(self) -> None:
        pass

    def of(self, unit: str, event: str | None = None) -> list[dict]:
        """The events (not output lines) of ``unit``, all or only ``event``, in order."""
        return [r for r in self.records if r["unit"] == unit and "event" in r and event in (None, r["event"])]

    def names(self, unit: str) -> list[str]:
        return [r["event"] for r in self.of(unit)]

    def at(self, unit: str, event: str) -> list[float]:
        """When each ``event`` of ``unit`` happened, on trio's clock."""
        return [r["at"] for r in self.of(unit, event)]

    async def next(self, unit: str, event: str, count: int = 1) -> dict:
        """The ``count``-th ``event`` of ``unit``, once it has happened."""
        while len(self.of(unit, event)) < count:
            await self._written.wait()
        return self.of(unit, event)[count - 1]


@attrs.frozen
class Run:
    """One simulated run: the runtime, its event log and its processes."""

    rt: Runtime
    events: Events
    children: Simulated


Scenario = Callable[[Run], Awaitable[None]]


def simulate(
    directory: Path,
    graph: str,
    programs: Mapping[str, Program],
    scenario: Scenario,
    *,
    profile: str | None = None,
    limit: float = 60.0,
) -> Run:
    """Run ``graph`` (TOML text) with ``programs``: ``scenario`` runs beside the units and a shutdown
    follows it, unless one came first (a critical failure). Within ``limit`` seconds of the mock clock."""
    path = directory / "graph.toml"
    path.write_text(graph)
    loaded = load_file(str(path))
    assert loaded.graph is not None, [f.message for f in loaded.findings]
    # The values its ${VAR}s take, as at run (``checked_plan``); its simulated programs are not
    # looked for on this machine.
    context = check_context(loaded.graph, os.environ, directory / "rt", ())
    plan = attrs.evolve(Plan.compile(loaded.graph, selected(loaded.graph, profile)), context=context)
    done: list[Run] = []

    async def main() -> None:
        events = Events()
        async with trio.open_nursery() as kernel:
            children = Simulated(programs=programs, nursery=kernel)
            rt = Runtime(plan, directory / "rt", Log("json", events), children=children)
            children.deliver = rt.notify
            run = Run(rt, events, children)
            with trio.fail_after(limit):
                async with trio.open_nursery() as supervisor:
                    supervisor.start_soon(run_units, rt)
                    await scenario(run)
                    rt.shutdown_requested.set()
            kernel.cancel_scope.cancel()
        done.append(run)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return done[0]


async def reloaded(run: Run, graph: str) -> Reloaded:
    """Reload the running graph from ``graph`` (TOML text, written over its file), as SIGHUP does.

    The file is read and linted in a thread, in real time: until the reload says it has (its first
    ``reload`` event) the mock clock stands still, which would otherwise jump to the next deadline
    the moment every task waits on the thread. Lint looks for the commands on this machine: a
    graph reloaded here names programs that exist (``sleep``, ``sh``)."""
    Path(run.rt.plan.graph.file).write_text(graph)
    answer: list[Reloaded] = []

    async def reload_now() -> None:
        answer.append(await reload(run.rt))

    clock = trio.lowlevel.current_clock()
    prepared = len(run.events.of("supervisor", "reload")) + 1
    async with trio.open_nursery() as nursery:
        clock.autojump_threshold = math.inf
        nursery.start_soon(reload_now)
        await run.events.next("supervisor", "reload", prepared)
        clock.autojump_threshold = 0
    return answer[0]


# -- programs ------------------------------------------------------------------------------


async def serve(proc: Proc) -> int:
    """A daemon: runs until a signal ends it."""
    await trio.sleep_forever()


def exits(code: int, after: float = 0.0) -> Program:
    """Exits with ``code`` ``after`` seconds."""

    async def program(proc: Proc) -> int:
        await trio.sleep(after)
        return code

    return program


def graceful(after: float = 0.0, code: int = 0) -> Program:
    """A daemon that, on SIGTERM or SIGINT, takes ``after`` seconds to exit with ``code``."""

    async def program(proc: Proc) -> int:
        proc.trap(signal.SIGTERM, signal.SIGINT)
        await proc.signalled()
        await trio.sleep(after)
        return code

    return program


async def stubborn(proc: Proc) -> int:
    """Ignores SIGTERM and SIGINT: only SIGKILL ends it."""
    proc.trap(signal.SIGTERM, signal.SIGINT)
    await trio.sleep_forever()
