"""The registry as the proxy sees it: lookups in the registry's thread (``services.shared.registry_calls``),
and a registry that cannot be read reported to the user as a ``ProxyError``.

The queue of lookups is bounded by MaxStartups and one authentication request checked at a time
per connection.
"""

from collections.abc import Callable
from typing import TypeVar

import attrs

from services.registry import RegistryError, Store, open_store
from services.shared.registry_calls import RegistryCalls
from services.ssh_proxy.errors import ProxyError

T = TypeVar("T")


def _unavailable(failure):
    failure.trap(RegistryError)
    raise ProxyError("registry-unavailable", f"the proxy cannot use its registry: {failure.value.message}")


@attrs.frozen
class Registry:
    calls: RegistryCalls

    @classmethod
    def open(cls, location: str) -> "Registry":
        """The registry at ``location``: a SQLite file or a ``postgresql://`` URL."""
        return cls(RegistryCalls(open_store(location)))

    def call(self, lookup: Callable[[Store], T]):
        """Run ``lookup(store)`` in the registry's thread; a Deferred firing with its result."""
        return self.calls.call(lookup).addErrback(_unavailable)
