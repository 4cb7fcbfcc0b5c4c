"""The service graph as data: services, the capabilities they provide and require, profiles.

Everything here is frozen and pure, down to its collections: tuples, and ``frozendict`` for
mappings (a read-only proxy would not be hashable, and a Service or Graph is a value that can be
hashed and compared). The loader builds it from a graph file, the linter and the views query it,
and the runtime reads it; none of them can change it.

The values are the ones the program uses (seconds, signals, argv tuples) and every one is set:
the defaults are the graph format's (:mod:`supervisor.graph.schema`), filled in by the loader, so none
is repeated here.
"""

import signal
from collections.abc import Iterable, Sequence
from functools import cache, cached_property
from typing import Literal

import attrs
from frozendict import frozendict

from supervisor.graph.source import Location, Source

Kind = Literal["longrun", "oneshot"]
RestartPolicy = Literal["always", "on-failure", "never"]
ExitWhen = Literal["never", "main-ended", "all-ended"]


@attrs.frozen
class HttpGet:
    """An ``http`` probe's request: the URL, the status codes that pass (empty: any 2xx or 3xx),
    headers to send, and whether any TLS certificate is accepted (``insecure``)."""

    url: str
    status: tuple[int, ...] = attrs.field(converter=tuple)
    headers: frozendict[str, str] = attrs.field(converter=frozendict)
    insecure: bool

    def passes(self, code: int) -> bool:
        return code in self.status if self.status else 200 <= code < 400


@attrs.frozen
class Probe:
    """How to tell that a service is ready, or that what it provides still holds.

    ``kind`` is one of :data:`supervisor.graph.schema.PROBE_KINDS`; ``target`` is what that kind reads
    (the argv for ``exec``, an address for most, None for ``notify``) and ``description`` how
    messages show it. For a ``ready`` probe, ``timeout`` bounds the whole wait; for a ``check``
    it bounds one run.
    """

    kind: str
    target: tuple[str, ...] | str | HttpGet | None
    timeout: float
    interval: float
    description: str

    def expanded_settings(self, role: str) -> list[tuple[tuple[str | int, ...], str]]:
        """The texts of the target, as :meth:`Service.expanded_settings` gives them, under ``role``
        (``ready`` or ``check``)."""
        target = self.target
        if isinstance(target, tuple):
            return list(zip(_items((role, self.kind), len(target)), target, strict=True))
        if isinstance(target, HttpGet):
            headers = [((role, self.kind, "headers", name), value) for name, value in target.headers.items()]
            return [((role, self.kind, "url"), target.url), *headers]
        return [((role, self.kind), target)] if target is not None else []


@attrs.frozen
class Check(Probe):
    """A ``check`` probe: what it provides is lost after ``retries`` failures in a row, and
    failures within ``start_period`` of the start do not count until one check has passed (as
    Docker's and Kubernetes' health checks do)."""

    retries: int
    start_period: float


@attrs.frozen
class Backoff:
    """Restart delays: ``initial``, doubling up to ``max``. The first restart is immediate."""

    initial: float
    max: float

    def delay(self, attempt: int) -> float:
        """Delay before restart number ``attempt`` (1-based) within the current window."""
        if attempt <= 1:
            return 0.0
        return min(self.max, self.initial * 2 ** (attempt - 2))


@attrs.frozen
class Service:
    name: str
    command: tuple[str, ...] = attrs.field(converter=tuple)
    kind: Kind
    description: str
    provides: tuple[str, ...] = attrs.field(converter=tuple)
    requires: tuple[str, ...] = attrs.field(converter=tuple)
    optional: bool
    restart: RestartPolicy
    backoff: Backoff
    max_restarts: int
    restart_window: float
    start_timeout: float
    critical: bool
    main: bool
    stop_signal: signal.Signals
    stop_timeout: float
    drain_timeout: float
    environment: frozendict[str, str] = attrs.field(converter=frozendict)
    replicas: int
    listen: tuple[str, ...] = attrs.field(converter=tuple)
    # Settings a graph may leave out, with no default: absent is None.
    env_file: tuple[str, ...] = attrs.field(converter=tuple)
    ready: Probe | None = None
    check: Check | None = None
    working_dir: str | None = None
    user: str | None = None
    group: str | None = None
    umask: int | None = None

    def expanded_settings(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every text in which ``${VAR}`` is expanded when the service runs, with its path in
        the service's table: what lint checks for variables with no value."""
        texts: list[tuple[tuple[str | int, ...], str]] = list(
            zip(_items(("command",), len(self.command)), self.command, strict=True)
        )
        if self.environment:
            texts += [(("environment", key), value) for key, value in self.environment.items()]
        if self.env_file:
            texts += [(("env_file", index), path) for index, path in enumerate(self.env_file)]
        if self.listen:
            texts += [(("listen", index), spec) for index, spec in enumerate(self.listen)]
        for key in ("working_dir", "user", "group"):
            value = getattr(self, key)
            if value is not None:
                texts.append(((key,), value))
        if self.ready is not None:
            texts += self.ready.expanded_settings("ready")
        if self.check is not None:
            texts += self.check.expanded_settings("check")
        return texts

    @property
    def verifiable(self) -> bool:
        """Whether the supervisor can prove what this service provides (and notice its loss)."""
        if self.kind == "oneshot":
            return self.check is not None
        return self.ready is not None or self.check is not None


@attrs.frozen
class Profile:
    """A deployment variant: services switched off, and capabilities it must deliver."""

    name: str
    disable: tuple[str, ...] = attrs.field(converter=tuple)
    offers: tuple[str, ...] = attrs.field(converter=tuple)
    description: str


@attrs.frozen
class Graph:
    name: str
    services: frozendict[str, Service] = attrs.field(converter=frozendict)
    profiles: frozendict[str, Profile] = attrs.field(converter=frozendict)
    source: Source = attrs.field(eq=False, repr=False)
    description: str
    exit_when: ExitWhen

    @property
    def file(self) -> str:
        return self.source.file

    def locate(self, path: Sequence[str | int]) -> Location:
        return self.source.locate(path)

    def locate_setting(self, service: str, path: Sequence[str | int]) -> Location:
        """Where ``service``'s setting at ``path`` is written: in its table, or in ``[defaults]``
        when it has it from there."""
        if not self.source.has(("services", service, path[0])) and self.source.has(("defaults", path[0])):
            return self.locate(("defaults", *path))
        return self.locate(("services", service, *path))

    def locate_item(self, path: Sequence[str | int], items: Sequence[str], item: str) -> Location:
        """Where ``item`` of the list at ``path`` is written (``items`` is that list)."""
        return self.locate((*path, items.index(item)) if item in items else path)

    @cached_property
    def providers(self) -> frozendict[str, tuple[str, ...]]:
        """Capability -> the services that provide it, in file order."""
        return _index((c, s.name) for s in self.services.values() for c in s.provides)

    @cached_property
    def consumers(self) -> frozendict[str, tuple[str, ...]]:
        """Capability -> the services that require it, in file order."""
        return _index((c, s.name) for s in self.services.values() for c in s.requires)

    @cached_property
    def listening(self) -> tuple[Service, ...]:
        """The services with ``listen`` sockets, in file order (few, in a graph of thousands)."""
        return tuple(s for s in self.services.values() if s.listen)

    @cached_property
    def requirement_counts(self) -> frozendict[str, int]:
        """Service -> how many distinct capabilities it requires, in file order (what a service
        waits for before it can start, counted once for the many variants lint proves)."""
        return frozendict({s.name: len(set(s.requires)) for s in self.services.values()})

    @cached_property
    def unprovided(self) -> frozenset[str]:
        """Capabilities that some service requires and no service provides."""
        return frozenset(c for c in self.consumers if c not in self.providers)

    @cached_property
    def offered_by(self) -> frozendict[str, tuple[str, ...]]:
        """Capability -> the profiles that offer it."""
        return _index((c, p.name) for p in self.profiles.values() for c in p.offers)

    @cached_property
    def capabilities(self) -> tuple[str, ...]:
        """Every capability named anywhere, provided, required or offered, sorted."""
        return tuple(sorted(set(self.providers) | set(self.consumers) | set(self.offered_by)))

    def disabled_by(self, profile: str | None) -> frozenset[str]:
        """The services that ``profile`` switches off (none for the base graph)."""
        if profile is None:
            return frozenset()
        return frozenset(s for s in self.profiles[profile].disable if s in self.services)


@cache
def _items(path: tuple[str, ...], count: int) -> tuple[tuple[str | int, ...], ...]:
    """The paths of the ``count`` items of the array at ``path``: the same few tuples for all the
    commands and probes of a graph (lint asks for the settings of thousands of services)."""
    return tuple((*path, index) for index in range(count))


def _index(pairs: Iterable[tuple[str, str]]) -> frozendict[str, tuple[str, ...]]:
    """``(key, name)`` pairs as key -> the names, in the order they came."""
    found: dict[str, list[str]] = {}
    for key, name in pairs:
        found.setdefault(key, []).append(name)
    return frozendict({key: tuple(names) for key, names in found.items()})
