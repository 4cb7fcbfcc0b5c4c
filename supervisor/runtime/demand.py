"""Checks asked for out of turn: a unit reported a capability broken (docs/notify.md), or an
operator ran ``supervisor check``.

A provider's check loop (``supervise._check_until_lost``) sleeps its interval between checks;
a request wakes it at once. Requests are coalesced so that whoever asks, and however often, a
provider's check is never run twice at the same time and never more than once more than
needed: the requests that arrive while no check is pending make one *round*, served by the next
check to start; those that arrive while it runs make the next round, served right after it. A
flood of a thousand reports thus runs one or two checks, and logs one event per round.
"""

import attrs
import trio

from supervisor.runtime.log import inert
from supervisor.status import CheckResult

REASON_LIMIT = 200
"""Characters of a reporter's reason kept (it is hostile text, escaped first)."""


def clean_reason(text: str) -> str:
    """A reporter's reason made safe to log: control characters escaped, one line, bounded."""
    text = inert(text)
    return text if len(text) <= REASON_LIMIT else f"{text[:REASON_LIMIT]}...[{len(text) - REASON_LIMIT} more]"


@attrs.define(eq=False)
class Round:
    """One check asked for and not yet run: who asked first, how many asked after them
    (coalesced into it), and, once it has run, its result (or why it never will)."""

    by: str
    more: int = 0
    result: CheckResult | None = None
    abandoned: str = ""
    done: trio.Event = attrs.field(factory=trio.Event)

    def asked_by(self) -> str:
        extra = f" (and {self.more} more request{'s' if self.more > 1 else ''})" if self.more else ""
        return f"{self.by}{extra}"

    def finish(self, result: CheckResult) -> None:
        self.result = result
        self.done.set()

    def abandon(self, why: str) -> None:
        self.abandoned = why
        self.done.set()


@attrs.define(eq=False)
class CheckDemand:
    """The requests for one unit's check. ``listening`` while its check loop runs: only then can
    a request be served (otherwise the unit is starting, restarting or stopped, and a check is
    either coming anyway or impossible)."""

    listening: bool = False
    _pending: Round | None = None
    _asked: trio.Event = attrs.field(factory=trio.Event)

    def ask(self, by: str) -> tuple[Round, bool]:
        """The round that will answer this request, and whether the request opened it (False:
        coalesced into one already waiting)."""
        if self._pending is not None:
            self._pending.more += 1
            return self._pending, False
        self._pending = Round(by)
        self._asked.set()
        return self._pending, True

    async def wait(self, interval: float) -> None:
        """Until the next check is due: ``interval`` from now, or at once when one is asked for."""
        with trio.move_on_after(interval):
            await self._asked.wait()

    def take(self) -> Round | None:
        """The round the check starting now answers (None when it runs on its interval); what is
        asked from now on waits for the next check."""
        taken, self._pending = self._pending, None
        self._asked = trio.Event()
        return taken

    def close(self, why: str, running: Round | None) -> None:
        """The check loop ended: the rounds that will not be served are told why."""
        self.listening = False
        for round_ in (running, self.take()):
            if round_ is not None and not round_.done.is_set():
                round_.abandon(why)


class Unavailable(Exception):
    """Why a capability's check cannot be run now (its message says what to do)."""


@attrs.define
class Throttle:
    """At most one event per ``every`` seconds for each key (a reporting unit), so a flood of
    reports that are ignored cannot fill the log; the next one says how many were held back."""

    every: float
    _last: dict[str, float] = attrs.field(factory=dict)
    _held: dict[str, int] = attrs.field(factory=dict)

    def allow(self, key: str) -> int | None:
        """None to hold this one back; else how many were held back since the last let through."""
        now = trio.current_time()
        if key in self._last and now - self._last[key] < self.every:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._held.pop(key, 0)
