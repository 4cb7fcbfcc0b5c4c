"""What the supervisor keeps of the recent past, and the watchers it pushes changes to.

Every event and every line a unit writes passes through here (``Log`` hands them over): the
last ones are kept in bounded rings, for ``supervisor logs`` and ``events``, and each
``watch`` connection (:class:`Watcher`) is pushed what it asked for as it happens. Nothing
polls: a watcher's task sleeps until something it wants changes, and with nothing changing
no one does any work.

A watcher that does not keep up cannot make the supervisor hold more memory: unit and
capability changes are kept as the *names* that changed (a set no larger than the graph), the
record itself is built when it is sent, so ten changes of one unit cost one update; events and
lines wait in a queue of at most ``WATCH_BUFFER`` bytes, past which the queue is dropped and
the watcher is told how many updates it lost, then brought up to date again.
"""

from collections import deque
from collections.abc import Callable, Iterable

import attrs
import trio

from supervisor.protocol import encode
from supervisor.status import Event, OutputLine, update_to_json

EVENTS_KEPT = 1000
EVENT_BYTES = 1 << 20
LINES_KEPT = 1000
LINE_BYTES = 256 << 10
"""Per unit: ``supervisor logs -n`` reaches back at most this far."""
WATCH_BUFFER = 1 << 20
"""Bytes of events and lines that may wait for one watcher; then it loses them."""


@attrs.define
class Ring:
    """The last items, at most ``count`` of them and (roughly) ``size`` bytes of text."""

    count: int
    size: int
    items: deque = attrs.field(factory=deque)
    _bytes: int = 0

    def append(self, item, size: int) -> None:
        self.items.append((item, size))
        self._bytes += size
        while len(self.items) > self.count or (self._bytes > self.size and len(self.items) > 1):
            self._bytes -= self.items.popleft()[1]

    def last(self, n: int) -> list:
        return [item for item, _ in list(self.items)[-n:]] if n > 0 else []


@attrs.define(eq=False)
class Watcher:
    """One ``watch`` connection's subscription and what waits to be sent to it."""

    status: bool
    events: bool
    output: frozenset[str]
    units: set[str] = attrs.field(factory=set)
    capabilities: set[str] = attrs.field(factory=set)
    queue: list[bytes] = attrs.field(factory=list)
    lost: int = 0
    _queued: int = 0
    _wake: trio.Event = attrs.field(factory=trio.Event)

    def push(self, line: bytes) -> None:
        if self.lost or self._queued + len(line) > WATCH_BUFFER:
            self.lost += len(self.queue) + 1
            self.queue.clear()
            self._queued = 0
        else:
            self.queue.append(line)
            self._queued += len(line)
        self._wake.set()

    def touch(self, units: Iterable[str] = (), capabilities: Iterable[str] = ()) -> None:
        if self.status:
            self.units.update(units)
            self.capabilities.update(capabilities)
            self._wake.set()

    async def wait(self) -> None:
        await self._wake.wait()
        self._wake = trio.Event()

    def take(self) -> tuple[int, set[str], set[str], list[bytes]]:
        """``(lost, units, capabilities, lines)``: everything waiting, handed over at once."""
        taken = (self.lost, self.units, self.capabilities, self.queue)
        self.lost, self.units, self.capabilities, self.queue, self._queued = 0, set(), set(), [], 0
        return taken


@attrs.define(eq=False)
class Feed:
    """The rings and the watchers; ``clock`` gives the wall-clock time records carry."""

    clock: Callable[[], float]
    events: Ring = attrs.field(factory=lambda: Ring(EVENTS_KEPT, EVENT_BYTES))
    lines: dict[str, Ring] = attrs.field(factory=dict)
    watchers: set[Watcher] = attrs.field(factory=set)
    _seq: int = 0

    def event(self, unit: str, kind: str, message: str, capability: str | None = None) -> None:
        self._seq += 1
        event = Event(self._seq, self.clock(), unit, kind, message, capability)
        self.events.append(event, len(message) + 64)
        if self.watchers:
            line = encode(update_to_json(event))
            for watcher in self.watchers:
                if watcher.events:
                    watcher.push(line)
                watcher.touch(units=(unit,))  # every event is a change of its unit
                if capability is not None:
                    watcher.touch(capabilities=(capability,))  # and of its capability

    def output(self, unit: str, stream: str, text: str) -> None:
        record = OutputLine(self.clock(), unit, stream, text)
        if unit not in self.lines:
            self.lines[unit] = Ring(LINES_KEPT, LINE_BYTES)
        self.lines[unit].append(record, len(text) + 48)
        watching = [w for w in self.watchers if unit in w.output]
        if watching:
            line = encode(update_to_json(record))
            for watcher in watching:
                watcher.push(line)

    def touch(self, units: Iterable[str] = (), capabilities: Iterable[str] = ()) -> None:
        """Units or capabilities changed without an event (a check ran, a unit is wanted again)."""
        units, capabilities = tuple(units), tuple(capabilities)
        for watcher in self.watchers:
            watcher.touch(units, capabilities)

    def recent_lines(self, units: Iterable[str], n: int) -> list[OutputLine]:
        """The last ``n`` lines of each of ``units``, in the order they were written."""
        found = [line for unit in units if unit in self.lines for line in self.lines[unit].last(n)]
        return sorted(found, key=lambda line: line.time)
