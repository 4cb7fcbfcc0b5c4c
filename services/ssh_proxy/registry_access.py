"""The registry as the reactor sees it: every lookup runs in a thread and returns a Deferred.

``Store`` is synchronous (SQLite today, maybe a networked database tomorrow); a slow lookup must
not stall every other session of the worker, so lookups go to the reactor's thread pool. Every
call is a fresh query, so registry changes apply to new connections without a restart.
"""

from collections.abc import Callable
from typing import TypeVar

import attrs
from twisted.internet import threads

from services.registry import RegistryError, SQLiteStore, Store
from services.ssh_proxy.errors import ProxyError

T = TypeVar("T")


def _unavailable(failure):
    failure.trap(RegistryError)
    raise ProxyError("registry-unavailable", f"the proxy cannot use its registry: {failure.value.message}")


@attrs.frozen
class Registry:
    store: Store

    @classmethod
    def sqlite(cls, path: str) -> "Registry":
        return cls(SQLiteStore(path))

    def call(self, lookup: Callable[[Store], T]):
        """Run ``lookup(store)`` in a worker thread; a Deferred firing with its result."""
        return threads.deferToThread(lookup, self.store).addErrback(_unavailable)
