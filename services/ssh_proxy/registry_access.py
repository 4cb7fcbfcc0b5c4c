"""The registry as the reactor sees it: every lookup runs in the registry's own thread.

``Store`` is synchronous (SQLite today, maybe a networked database tomorrow); a slow lookup must
not stall every other session of the worker, so lookups run in a thread and return a Deferred.
One thread, not the reactor's pool of ten: the store keeps one connection, and a flood of login
attempts then costs a queue entry each, never a thread or a file descriptor (the queue itself is
bounded by MaxStartups and one authentication request checked at a time per connection). Every
call is a fresh query, so registry changes apply to new connections without a restart.
"""

from collections.abc import Callable
from typing import TypeVar

import attrs
from twisted.internet import reactor, threads
from twisted.python.threadpool import ThreadPool

from services.registry import RegistryError, SQLiteStore, Store
from services.ssh_proxy.errors import ProxyError

T = TypeVar("T")


def _unavailable(failure):
    failure.trap(RegistryError)
    raise ProxyError("registry-unavailable", f"the proxy cannot use its registry: {failure.value.message}")


def _one_thread() -> ThreadPool:
    """A pool of one thread, running while the reactor does."""
    pool = ThreadPool(minthreads=1, maxthreads=1, name="registry")
    reactor.callWhenRunning(pool.start)
    reactor.addSystemEventTrigger("during", "shutdown", pool.stop)
    return pool


@attrs.frozen
class Registry:
    store: Store
    thread: ThreadPool = attrs.field(factory=_one_thread, eq=False, repr=False)

    @classmethod
    def sqlite(cls, path: str) -> "Registry":
        return cls(SQLiteStore(path))

    def call(self, lookup: Callable[[Store], T]):
        """Run ``lookup(store)`` in the registry's thread; a Deferred firing with its result."""
        return threads.deferToThreadPool(reactor, self.thread, lookup, self.store).addErrback(_unavailable)
