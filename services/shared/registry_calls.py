"""The registry as the reactor sees it: every lookup runs in the registry's own thread.

``Store`` is synchronous (SQLite today, maybe a networked database tomorrow); a slow lookup must
not stall every other session of a Twisted service, so lookups run in a thread and return a
Deferred. One thread, not the reactor's pool of ten: the store keeps one connection and is used
by one thread at a time, and a flood of requests then costs a queue entry each, never a thread or
a file descriptor. Every call is a fresh query, so registry changes apply without a restart.
"""

from collections.abc import Callable
from typing import TypeVar

import attrs
from twisted.internet import defer, reactor, threads
from twisted.python.threadpool import ThreadPool

from services.shared.registry_store import Store

T = TypeVar("T")


def _one_thread() -> ThreadPool:
    """A pool of one thread, running while the reactor does."""
    pool = ThreadPool(minthreads=1, maxthreads=1, name="registry")
    reactor.callWhenRunning(pool.start)
    reactor.addSystemEventTrigger("during", "shutdown", pool.stop)
    return pool


@attrs.frozen
class RegistryCalls:
    store: Store
    thread: ThreadPool = attrs.field(factory=_one_thread, eq=False, repr=False)

    def call(self, lookup: Callable[[Store], T]) -> defer.Deferred:
        """Run ``lookup(store)`` in the registry's thread; a Deferred firing with its result."""
        return threads.deferToThreadPool(reactor, self.thread, lookup, self.store)
