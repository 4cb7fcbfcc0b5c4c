"""Hold a user's connection while a capability the proxy depends on is broken, instead of failing it.

When the agent cannot be reached, holds no identity keys, or will not sign, the fault is the
proxy's own (the incident's), not the user's nor the device's, and it is soon repaired: the
supervisor re-runs the key loader as soon as it hears of it. So the worker reports the capability
broken at once (``notify.BrokenReports``: at most one datagram per capability per 200 ms, however
many users meet it), then retries the user's connection to the device with a bounded backoff
(50 ms growing to 250 ms) until it works or ``--hold-timeout`` runs out; only then does the user
get the specific line. The audit line records how long the session was held and for what.

The worker learns that the capability is back by that retry alone, not from the supervisor: a
retry costs one agent connection and one list request (well under a millisecond of the agent's
time) per held connection every 250 ms at most; it needs no channel back from the supervisor, and
it sees a repair whoever made it (the key loader, an operator's ``ssh-add``, a restarted agent).

A held connection holds what a connection waiting for its device held before: the user's
transport, what the user sent meanwhile (bounded by ``session.HELD_LIMIT``) and one agent or
device connection at a time, for ``--hold-timeout`` (10 s by default), which counts in the time a
connection may stay without a device (``no_device_timeout``, 30 s) when it is refused. A worker holds at most MaxStartups' ``full`` connections at once, the
most it admits before login: past that a connection fails at once with its line, as it did before.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from twisted.internet import task

from services.shared.notify import BrokenReports
from services.ssh_proxy import errors
from services.ssh_proxy.audit import SessionRecord

TIMEOUT = 10.0  # seconds a connection is held by default (--hold-timeout)
FIRST_RETRY = 0.05
LAST_RETRY = 0.25

T = TypeVar("T")


class Hold:
    """The holds of one worker: how long, how many at once, and whom to tell what broke."""

    def __init__(
        self,
        reactor,
        timeout: float,
        most: int,
        report_as: dict[errors.Dependency, str],
    ) -> None:
        self.reactor = reactor
        self.timeout = timeout
        self.most = most
        self.report_as = report_as  # the capability each dependency is reported as; absent: not reported
        self.reports = BrokenReports()
        self.held = 0  # connections held now

    def _report(self, broken: errors.Dependency, code: str) -> None:
        capability = self.report_as.get(broken)
        if capability is not None:
            self.reports.broken(capability, code)

    async def through(
        self, attempt: Callable[[], Awaitable[T]], record: SessionRecord, gone: Callable[[], bool]
    ) -> T:
        """``attempt()``'s result, retried while it fails for a broken dependency, for up to the
        hold timeout; the last ProxyError once the time is out, the user ``gone``, or too many held."""
        started = None
        delay = FIRST_RETRY
        try:
            while True:
                try:
                    return await attempt()
                except errors.ProxyError as problem:
                    if problem.broken is None:
                        raise
                    self._report(problem.broken, problem.code)
                    if started is None:
                        if self.held >= self.most:
                            raise
                        self.held += 1
                        started = self.reactor.seconds()
                        record.held_for = self.report_as.get(problem.broken, problem.broken.value)
                    left = started + self.timeout - self.reactor.seconds()
                    if left <= 0 or gone():
                        raise
                    await task.deferLater(self.reactor, min(delay, left))
                    delay = min(delay * 2, LAST_RETRY)
        finally:
            if started is not None:
                self.held -= 1
                record.held_ms = round((self.reactor.seconds() - started) * 1000)
