"""The running graph's status as typed values, shared by every side that speaks of it.

The runtime builds these records from its units, the control protocol carries them as JSON
(each record's ``to_json`` is the one place that says what its JSON looks like; ``from_json``
reads it back by the record's field types, the keys ``to_json`` renames declared at
:data:`_wire`), and the views (``supervisor status``'s table, ``supervisor top``) read them.
States are enums, records are frozen: a view cannot misspell a state or change what the
supervisor said.

A watch streams these records as updates (:func:`update_to_json`), one key saying which record
each is. Nothing here imports trio or rich.
"""

import enum
import signal
import time
from typing import Self

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override


class UnitState(enum.Enum):
    """Where one unit is in its life; ``supervise`` moves it, docs/control-protocol.md lists them."""

    WAITING = "waiting"
    STARTING = "starting"
    READY = "ready"
    DONE = "done"
    DEGRADED = "degraded"
    BACKOFF = "backoff"
    FAILED = "failed"
    STOPPING = "stopping"
    STOPPED = "stopped"

    @property
    def parked(self) -> bool:
        """Not running and not about to: only a request (or a restart) moves it on."""
        return self in (UnitState.FAILED, UnitState.STOPPED)

    @property
    def up(self) -> bool:
        """Doing what it is for: a ready longrun or a oneshot that succeeded."""
        return self in (UnitState.READY, UnitState.DONE)


class CapabilityState(enum.Enum):
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"  # never proven yet, or its provider was stopped on purpose
    LOST = "lost"  # was available, then its check failed or its provider ended


def signal_name(number: int) -> str:
    """``SIGTERM``; ``SIGRTMIN+1`` for a real-time signal (``signal.Signals`` names only the two
    ends of that range), as ``kill -l`` does; ``signal 32`` for a number with no name at all.

    Any signal can end a unit, so this must name every number rather than raise."""
    try:
        return signal.Signals(number).name
    except ValueError:
        pass
    if signal.SIGRTMIN < number < signal.SIGRTMAX:
        return f"SIGRTMIN+{number - signal.SIGRTMIN}"
    return f"signal {number}"


def signal_number(name: str) -> int:
    """The inverse of :func:`signal_name`."""
    if name.startswith("SIGRTMIN+"):
        return signal.SIGRTMIN + int(name.removeprefix("SIGRTMIN+"))
    if name.startswith("signal "):
        return int(name.removeprefix("signal "))
    return signal.Signals[name].value


class _Record:
    """A record the control protocol carries: its own ``to_json`` writes it, and ``from_json``
    reads that back."""

    __slots__ = ()

    @classmethod
    def from_json(cls, data: dict) -> Self:
        return _wire.structure(data, cls)


@attrs.frozen
class Exit:
    """How a process ended: an exit code, or (negative) the signal that killed it."""

    code: int

    def describe(self) -> str:
        if self.code < 0:
            return f"killed by {signal_name(-self.code)}"
        return f"exit {self.code}"

    @property
    def status(self) -> int:
        """As a shell reports it: the exit code, or 128 + the signal's number."""
        return 128 - self.code if self.code < 0 else self.code

    def short(self) -> str:
        """``exit 1`` or ``SIGKILL``, for a table cell."""
        return signal_name(-self.code) if self.code < 0 else f"exit {self.code}"

    def to_json(self) -> dict:
        if self.code < 0:
            return {"code": None, "signal": signal_name(-self.code)}
        return {"code": self.code, "signal": None}

    @classmethod
    def from_json(cls, data: dict) -> "Exit":
        return cls(code=-signal_number(data["signal"]) if data["signal"] is not None else data["code"])


@attrs.frozen
class CheckResult(_Record):
    """A capability's last ``check`` run: passed or not, when, how long it took, what it said."""

    ok: bool
    time: float
    output: str
    duration: float | None = None

    def to_json(self) -> dict:
        return {"ok": self.ok, "time": round(self.time, 3), "output": self.output, "duration": self.duration}


@attrs.frozen
class UnitStatus(_Record):
    """One unit as the supervisor sees it at one moment.

    ``output`` is the last few lines it wrote (for reasons); ``supervisor logs`` has more.
    ``depth`` is its place in the graph (0: requires nothing), by which views sort. ``cause``,
    for a waiting or degraded unit, is the bottom of its ``reason``: the capability at the root
    of what it lacks and that capability's provider, for a view with one line to spare.
    """

    unit: str
    service: str
    replica: int | None
    kind: str
    state: UnitState
    reason: str = ""
    pid: int | None = None
    since: float = 0.0
    started_at: float | None = None
    restarts: int = 0
    last_exit: Exit | None = None
    status: str = ""
    provides: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    output: tuple[str, ...] = ()
    wanted: bool = True
    depth: int = 0
    cause: str = ""

    @property
    def at_rest(self) -> bool:
        """Stopped (or stopping) and meant to be: on request, or by its restart policy after a
        clean exit. Not a fault, as a failed unit is."""
        return not self.wanted and self.state in (UnitState.STOPPING, UnitState.STOPPED)

    @property
    def summary(self) -> str:
        """The reason on one line: for a waiting or degraded unit the root cause first (``needs
        CAPABILITY: provider …``), which a cut keeps; else the reason's first line."""
        if self.cause:
            return f"needs {self.cause}"
        return self.reason.strip().splitlines()[0] if self.reason.strip() else ""

    def uptime(self, now: float) -> float | None:
        """Seconds its current process has run, None when it has none."""
        return now - self.started_at if self.pid and self.started_at else None

    def to_json(self, now: float | None = None) -> dict:
        uptime = self.uptime(time.time() if now is None else now)
        return {
            "name": self.service,
            "unit": self.unit,
            "replica": self.replica,
            "kind": self.kind,
            "state": self.state.value,
            "pid": self.pid,
            "restarts": self.restarts,
            "last_exit": self.last_exit.to_json() if self.last_exit else None,
            "since": round(self.since, 3),
            "started_at": None if self.started_at is None else round(self.started_at, 3),
            "uptime": None if uptime is None else round(uptime, 3),
            "reason": self.reason,
            "status": self.status,
            "provides": list(self.provides),
            "requires": list(self.requires),
            "output": list(self.output),
            "wanted": self.wanted,
            "depth": self.depth,
            "cause": self.cause,
        }


@attrs.frozen
class CapabilityStatus(_Record):
    """One capability: its state, the unit proving it (when available), who provides and needs it."""

    name: str
    state: CapabilityState
    provider: str | None = None
    providers: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()
    since: float = 0.0
    last_check: CheckResult | None = None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "state": self.state.value,
            "provider": self.provider,
            "providers": list(self.providers),
            "consumers": list(self.consumers),
            "since": round(self.since, 3),
            "last_check": self.last_check.to_json() if self.last_check else None,
        }


@attrs.frozen
class Event(_Record):
    """Something that happened to a unit (or to ``supervisor`` itself): ``kind`` is the log's event
    name (``started``, ``ready``, ``exit``, ``lost`` …), numbered in order by ``seq``.
    ``capability`` names the capability a ``supervisor`` event is about (``capability-added``,
    ``capability-removed``: a reload's), so a client needs no parsing of the message."""

    seq: int
    time: float
    unit: str
    kind: str
    message: str
    capability: str | None = None

    def to_json(self) -> dict:
        about = {"capability": self.capability} if self.capability is not None else {}
        return {
            "seq": self.seq,
            "time": round(self.time, 6),
            "unit": self.unit,
            "event": self.kind,
            "message": self.message,
            **about,
        }


@attrs.frozen
class OutputLine(_Record):
    """One line a unit wrote on ``stream`` (``stdout`` or ``stderr``)."""

    time: float
    unit: str
    stream: str
    line: str

    def to_json(self) -> dict:
        return {"time": round(self.time, 6), "unit": self.unit, "stream": self.stream, "line": self.line}


@attrs.frozen
class DrainingStatus(_Record):
    """A unit's old process, no longer the unit's, finishing its sessions after a restart: since
    its stop signal, and the deadline (drain_timeout + stop_timeout later) at which it gets SIGKILL."""

    unit: str
    pid: int
    since: float
    deadline: float

    def to_json(self) -> dict:
        since, deadline = round(self.since, 3), round(self.deadline, 3)
        return {"unit": self.unit, "pid": self.pid, "since": since, "deadline": deadline}


@attrs.frozen
class GraphStatus(_Record):
    """The whole running graph: what ``status`` answers and a watch starts from.

    ``file`` and ``profile`` name the graph it runs (``top`` explains a unit from them);
    ``offers`` is what the profile must deliver, which the health check holds it to.
    """

    graph: str
    pid: int
    stopping: bool
    services: tuple[UnitStatus, ...]
    capabilities: tuple[CapabilityStatus, ...]
    file: str = ""
    profile: str | None = None
    offers: tuple[str, ...] = ()
    draining: tuple[DrainingStatus, ...] = ()

    def problems(self, capabilities: tuple[str, ...] = ()) -> list[str]:
        """What keeps the graph from being healthy, one sentence each (none: healthy).

        With ``capabilities``, only whether those are available; else every unit must be ready
        or done (or at rest), and every capability the profile offers available.
        """
        states = {c.name: c for c in self.capabilities}
        if capabilities:
            return [
                _not_available(name, states.get(name)) for name in capabilities if _missing(states.get(name))
            ]
        found = [
            f"{u.unit} is {u.state.value}" + (f": {u.summary}" if u.summary else "")
            for u in self.services
            if not u.state.up and not u.at_rest
        ]
        found += [
            _not_available(name, states.get(name)) for name in self.offers if _missing(states.get(name))
        ]
        if self.stopping:
            found.insert(0, "the supervisor is stopping")
        return found

    def to_json(self, now: float | None = None) -> dict:
        return {
            "graph": self.graph,
            "file": self.file,
            "profile": self.profile,
            "offers": list(self.offers),
            "pid": self.pid,
            "stopping": self.stopping,
            "services": [u.to_json(now) for u in self.services],
            "capabilities": [c.to_json() for c in self.capabilities],
            "draining": [d.to_json() for d in self.draining],
        }


_wire = cattrs.Converter(detailed_validation=False)
"""Reads each record from its JSON by the types of its fields (enums by value, lists as tuples,
nested records). A field the JSON lacks keeps the record's default: a client reads a supervisor
older than itself, which never sent the fields added since. A key it does not know (``uptime``)
is left. What cannot be read raises KeyError, ValueError or TypeError, undecorated, which a
client reports as another version's answer."""
_wire.register_structure_hook(Exit, lambda data, _: Exit.from_json(data))
# the fields whose JSON key is not their name (see to_json)
_wire.register_structure_hook(
    UnitStatus, make_dict_structure_fn(UnitStatus, _wire, service=override(rename="name"))
)
_wire.register_structure_hook(Event, make_dict_structure_fn(Event, _wire, kind=override(rename="event")))


def _missing(capability: CapabilityStatus | None) -> bool:
    return capability is None or capability.state is not CapabilityState.AVAILABLE


def _not_available(name: str, capability: CapabilityStatus | None) -> str:
    if capability is None:
        return f"capability {name} has no provider running here"
    return f"capability {name} is {capability.state.value}"


@attrs.frozen
class Lost:
    """The watcher fell behind and ``count`` updates were dropped for it; the updates that follow
    bring every unit and capability up to date again (events and lines in between are gone)."""

    count: int


Update = UnitStatus | CapabilityStatus | Event | OutputLine | GraphStatus | Lost
_KEYS = {
    UnitStatus: "unit",
    CapabilityStatus: "capability",
    Event: "event",
    OutputLine: "output",
    GraphStatus: "status",
}
_TYPES = {key: kind for kind, key in _KEYS.items()}


def update_to_json(update: Update) -> dict:
    """``{"unit": UNIT}``, ``{"capability": CAP}``, ``{"event": EVENT}``, ``{"output": LINE}``,
    ``{"status": STATUS}`` or ``{"lost": N}``."""
    if isinstance(update, Lost):
        return {"lost": update.count}
    return {_KEYS[type(update)]: update.to_json()}


def update_from_json(message: dict) -> Update:
    """The typed update of one stream line (ValueError if it is none)."""
    if "lost" in message:
        return Lost(message["lost"])
    for key, kind in _TYPES.items():
        if key in message:
            return kind.from_json(message[key])
    raise ValueError(f"not a watch update: {sorted(message)}")
