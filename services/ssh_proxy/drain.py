"""Drain: on SIGTERM with ``DRAIN_TIMEOUT`` set, stop accepting and let the sessions under way end.

A rolling restart stops the workers one at a time. Their listening socket is one socket handed
down to every worker, so the worker that stops closes only its own copy: the kernel gives new
connections to the workers still listening, and none is refused. Its open connections go on for
up to ``DRAIN_TIMEOUT`` seconds (the supervisor sets it from the service's ``drain_timeout``);
those left then are told the worker is shutting down and closed, and the worker exits 0.
Without ``DRAIN_TIMEOUT`` (or 0) a worker stops at once, and its connections are told so too:
cut by the reactor instead, a session could learn first that its device's connection was gone
and tell its user the device had closed it.

It runs as a "before shutdown" trigger of the reactor, which waits for the Deferred it returns:
SIGTERM (or SIGINT) stops the reactor, and the reactor stops once the drain is over.
"""

import os

from twisted.conch.ssh import transport
from twisted.internet import defer
from twisted.logger import Logger

from services.shared import arguments
from services.shared.errors import ServiceError

_log = Logger()
SHUTTING_DOWN = b"the proxy worker is shutting down"
FLUSH_TIMEOUT = 1.0  # for the connections told to go to send that, before the reactor drops them


def timeout_from(environ: os._Environ | dict) -> float:
    """``DRAIN_TIMEOUT`` in seconds (decimal), 0 when unset; ServiceError naming a bad value."""
    text = environ.get("DRAIN_TIMEOUT", "").strip()
    if not text:
        return 0.0
    value = arguments.finite(text)
    if value is None or value < 0:
        raise ServiceError(f"DRAIN_TIMEOUT={text!r} is not a number of seconds (0 or more)")
    return value


class Drain:
    """Drains ``proxy``'s connections once its listening ``port`` is known (``listening``)."""

    def __init__(self, reactor, proxy, timeout: float) -> None:
        self.reactor = reactor
        self.proxy = proxy
        self.timeout = timeout
        self.port = None

    def listening(self, port):
        self.port = port
        return port

    def install(self) -> None:
        self.reactor.addSystemEventTrigger("before", "shutdown", lambda: defer.ensureDeferred(self.run()))

    async def run(self) -> None:
        if self.port is None:  # stopping before it ever served (it could not listen)
            return
        started, count = self.reactor.seconds(), len(self.proxy.open)
        await self.port.stopListening()
        if self.timeout > 0:
            _log.warn(
                "draining: no longer accepting, {count} connections open, waiting up to {timeout}s for them",
                count=count,
                timeout=self.timeout,
            )
            await self._idle(self.timeout)
        left = list(self.proxy.open)
        for connection in left:
            connection.sendDisconnect(transport.DISCONNECT_BY_APPLICATION, SHUTTING_DOWN)
        await self._idle(FLUSH_TIMEOUT)
        if not self.timeout:
            return
        _log.warn(
            "drained in {seconds}s: {ended} connections ended, {closed} closed at the drain timeout",
            seconds=round(self.reactor.seconds() - started, 3),
            ended=count - len(left),
            closed=len(left),
        )

    async def _idle(self, timeout: float) -> None:
        """Until no connection is open, or ``timeout`` seconds."""
        idle = self.proxy.idle()
        idle.addTimeout(timeout, self.reactor)
        try:
            await idle
        except defer.TimeoutError:
            pass
