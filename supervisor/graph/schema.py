"""The graph file format, declared once: validation, defaults and reading for the loader, and JSON
Schema for editors.

Each setting is described by a small type object that can check a parsed TOML value, read it
into the model's value (a duration into seconds, a signal name into a signal), and describe
itself as JSON Schema, so ``graphs/schema.json`` is generated from the same table the loader
enforces (a test keeps the published file in step). Defaults are declared here and nowhere
else, written as a graph file would write them: the loader fills them in, the JSON Schema and
its descriptions show them, and a test holds the README to them. So are the probe kinds
(:data:`PROBE_KINDS`): a new kind is a line here and its function in ``runtime/probes``.
"""

import json
import re
import shlex
import signal
from collections.abc import Mapping
from functools import cached_property
from itertools import chain
from operator import itemgetter
from typing import Any

import attrs
from frozendict import frozendict

from supervisor.graph.addresses import HOST_PORT_PATTERN, LISTEN_PATTERN, URL_PATTERN
from supervisor.graph.durations import PATTERN as DURATION_PATTERN
from supervisor.graph.durations import parse_duration
from supervisor.graph.expand import malformed_reference
from supervisor.graph.model import HttpGet
from supervisor.wording import did_you_mean

FORMAT_VERSION = 1
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_NAME = re.compile(NAME_PATTERN)

Path = tuple[str | int, ...]


@attrs.frozen
class Problem:
    """One way a document breaks the format, at ``path`` inside it."""

    path: Path
    message: str


# bool before int: True is an int too
_TYPE_NAMES = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
    (dict, "a table"),
)


def _type_name(value: Any) -> str:
    return next((name for kind, name in _TYPE_NAMES if isinstance(value, kind)), type(value).__name__)


def dotted(path: Path) -> str:
    """A path in the document as a graph writes it: ``services.a.ready.exec[2]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the file"


def _types(values: list) -> set[type]:
    """The types of ``values``: their exact types, as TOML gives them (a bool is not an int here)."""
    return set(map(type, values))


def _wrong_type(path: Path, expected: str, value: Any) -> list[Problem]:
    return [Problem(path, f"{dotted(path)} must be {expected}, not {_type_name(value)} ({value!r})")]


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()
"""A setting that is simply absent when not written (a probe, a working directory)."""


@attrs.frozen
class ByKind:
    """A default that depends on the service's kind, such as ``restart``."""

    values: Mapping[str, Any]

    def __str__(self) -> str:
        return ", ".join(f"{value} for a {kind}" for kind, value in self.values.items())


@attrs.frozen
class Setting:
    """What every setting type shares: its description and its default (as a file writes it).

    Subclasses implement ``check`` and ``_shape`` (the JSON Schema of the type alone), and
    ``read`` when the model's value is not the file's value as it is.
    """

    doc: str
    default: Any = attrs.field(default=NO_DEFAULT, kw_only=True)

    def read(self, value: Any) -> Any:
        """The model's value for a file value that passed :meth:`check`."""
        return value

    @property
    def reads_as_written(self) -> bool:
        """Whether :meth:`read` gives the file's value as it is (most settings): a large graph
        reads a hundred thousand values, and those need no call."""
        return type(self).read is Setting.read

    def all_pass(self, values: list) -> bool:
        """Whether every one of ``values`` passes :meth:`check`: a call per value here; the types
        a large graph has thousands of values of (an array's items, a setting of every service)
        tell at once."""
        return not any(self.check(value, ()) for value in values)

    def show(self, value: Any) -> str:
        """A value :meth:`read` returned, as messages show it."""
        return str(value)

    @property
    def description(self) -> str:
        """The doc with the default, when there is one worth saying (not an empty value)."""
        default = self.default
        if default is NO_DEFAULT or default in ("", [], {}):
            return self.doc
        shown = json.dumps(default) if isinstance(default, bool) else str(default)
        return f"{self.doc} (default {shown})"

    def schema(self) -> dict:
        out = {**self._shape(), "description": self.description}
        if self.default is not NO_DEFAULT and not isinstance(self.default, ByKind):
            out["default"] = self.default
        return out

    def _shape(self) -> dict:
        raise NotImplementedError


@attrs.frozen
class String(Setting):
    pattern: str | None = None
    pattern_hint: str = ""

    def check(self, value: Any, path: Path) -> list[Problem]:
        if not isinstance(value, str):
            return _wrong_type(path, "a string", value)
        if self.pattern and not self._compiled.match(value):
            return [Problem(path, f"{dotted(path)} is {value!r}: {self.pattern_hint}")]
        bad = malformed_reference(value)
        if bad:
            return [
                Problem(
                    path,
                    f"{dotted(path)} has {bad!r}, which is not a reference: write ${{NAME}} or ${{NAME:-default}} (and $$ for a literal $)",
                )
            ]
        return []

    def all_pass(self, values: list) -> bool:
        """Strings (joining them fails otherwise) that match the pattern and hold no malformed
        reference, found with no call per value but the reference check of those with a ``${``:
        most arrays of a large graph (commands, provides, requires) are these."""
        try:
            references = "${" in "".join(values)
        except TypeError:
            return False
        if self.pattern and not all(map(self._compiled.match, values)):
            return False
        return not references or not any(map(malformed_reference, [v for v in values if "${" in v]))

    @cached_property
    def _compiled(self) -> re.Pattern:
        return re.compile(self.pattern)

    def _shape(self) -> dict:
        return {"type": "string", "pattern": self.pattern} if self.pattern else {"type": "string"}


@attrs.frozen
class Boolean(Setting):
    def check(self, value: Any, path: Path) -> list[Problem]:
        return [] if isinstance(value, bool) else _wrong_type(path, "true or false", value)

    def all_pass(self, values: list) -> bool:
        return _types(values) <= {bool}

    def _shape(self) -> dict:
        return {"type": "boolean"}


@attrs.frozen
class Integer(Setting):
    minimum: int = 0
    maximum: int | None = None

    def check(self, value: Any, path: Path) -> list[Problem]:
        if isinstance(value, bool) or not isinstance(value, int):
            return _wrong_type(path, self._bounds, value)
        if value < self.minimum or (self.maximum is not None and value > self.maximum):
            return [Problem(path, f"{dotted(path)} is {value}: it must be {self._bounds}")]
        return []

    @property
    def _bounds(self) -> str:
        if self.minimum == self.maximum:
            return str(self.minimum)
        upper = f" and ≤ {self.maximum}" if self.maximum is not None else ""
        return f"an integer ≥ {self.minimum}{upper}"

    def _shape(self) -> dict:
        out: dict[str, Any] = {"type": "integer", "minimum": self.minimum}
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


@attrs.frozen
class Duration(Setting):
    """A duration string ("10s"), read as seconds."""

    def check(self, value: Any, path: Path) -> list[Problem]:
        if not isinstance(value, str):
            return _wrong_type(path, 'a duration string such as "10s"', value)
        try:
            parse_duration(value)
        except ValueError as error:
            return [Problem(path, f"{dotted(path)}: {error}")]
        return []

    def all_pass(self, values: list) -> bool:
        """Strings, each distinct one checked once (a graph writes a few durations many times)."""
        return _types(values) <= {str} and super().all_pass(list(set(values)))

    def read(self, value: str) -> float:
        return parse_duration(value)

    def _shape(self) -> dict:
        return {"type": "string", "pattern": DURATION_PATTERN}


@attrs.frozen
class Choice(Setting):
    values: tuple[str, ...]

    def check(self, value: Any, path: Path) -> list[Problem]:
        if isinstance(value, str) and value in self.values:
            return []
        choices = ", ".join(repr(v) for v in self.values)
        return [
            Problem(
                path, f"{dotted(path)} is {value!r}: use one of {choices}{did_you_mean(value, self.values)}"
            )
        ]

    def _shape(self) -> dict:
        return {"enum": list(self.values)}


@attrs.frozen
class Signal(Setting):
    """A signal name ("TERM", "SIGTERM", "hup"), read as the signal, so nothing later parses it."""

    def check(self, value: Any, path: Path) -> list[Problem]:
        if isinstance(value, str) and signal_number(value) is not None:
            return []
        return [
            Problem(path, f'{dotted(path)} is {value!r}: name a signal such as "TERM", "SIGINT" or "HUP"')
        ]

    def read(self, value: str) -> signal.Signals:
        return signal.Signals(signal_number(value))

    def _shape(self) -> dict:
        return {"type": "string", "pattern": r"^(SIG)?[A-Z0-9+]+$"}


def signal_number(name: str) -> int | None:
    """The number of signal ``name`` ("TERM" or "SIGTERM"), or None if there is no such signal."""
    full = name.upper() if name.upper().startswith("SIG") else "SIG" + name.upper()
    member = getattr(signal.Signals, full, None) if not full.startswith("SIG_") else None
    return int(member) if member is not None else None


@attrs.frozen
class Array(Setting):
    item: Any
    unique: bool = False

    def check(self, value: Any, path: Path) -> list[Problem]:
        if not isinstance(value, list):
            return _wrong_type(path, "an array", value)
        if self.item.all_pass(value):
            problems = []
        else:
            problems = [p for i, item in enumerate(value) for p in self.item.check(item, path + (i,))]
        if self.unique and not problems and len(set(value)) < len(value):
            seen: set = set()
            for i, item in enumerate(value):
                if item in seen:
                    problems.append(Problem(path + (i,), f"{dotted(path)} lists {item!r} twice: remove one"))
                seen.add(item)
        return problems

    def all_pass(self, values: list) -> bool:
        """Arrays whose items, all of them as one list, pass; and if unique, none lists an item
        twice (then no set is smaller than its array)."""
        return (
            _types(values) <= {list}
            and self.item.all_pass(list(chain.from_iterable(values)))
            and (not self.unique or sum(map(len, map(set, values))) == sum(map(len, values)))
        )

    def read(self, value: list) -> tuple:
        return tuple(value) if self.item.reads_as_written else tuple(map(self.item.read, value))

    def _shape(self) -> dict:
        out = {"type": "array", "items": self.item.schema()}
        if self.unique:
            out["uniqueItems"] = True
        return out


_ARGUMENT = String("argument")
_ARGUMENTS = Array("arguments", _ARGUMENT)


@attrs.frozen
class Command(Setting):
    """An argv list, or a string that is shlex-split (never given to a shell); read as a tuple."""

    def check(self, value: Any, path: Path) -> list[Problem]:
        if isinstance(value, str):
            try:
                words = shlex.split(value)
            except ValueError as error:
                return [
                    Problem(
                        path,
                        f"{dotted(path)} cannot be split into words ({error}): write it as an array of strings",
                    )
                ]
            if not words:
                return [Problem(path, f"{dotted(path)} is empty: name the program to run")]
            return _ARGUMENT.check(value, path)
        if isinstance(value, list):
            if not value:
                return [Problem(path, f"{dotted(path)} is empty: name the program to run")]
            return _ARGUMENTS.check(value, path)
        return _wrong_type(path, "an array of strings (argv) or a string", value)

    def all_pass(self, values: list) -> bool:
        """Argv arrays, none empty, with all their words as one list; each other value on its own."""
        arrays = [value for value in values if type(value) is list]
        others = [value for value in values if type(value) is not list] if len(arrays) < len(values) else []
        return all(arrays) and _ARGUMENTS.all_pass(arrays) and super().all_pass(others)

    def read(self, value: str | list) -> tuple[str, ...]:
        return tuple(shlex.split(value) if isinstance(value, str) else value)

    def show(self, value: tuple[str, ...]) -> str:
        return " ".join(value)

    def _shape(self) -> dict:
        return {
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ],
        }


@attrs.frozen
class Table(Setting):
    """A TOML table with known keys; unknown keys are errors with a "did you mean".

    Read as a dict of every key written or defaulted (read); keys with no default that the file
    does not write are left out.
    """

    fields: Mapping[str, Any]
    required: tuple[str, ...] = ()
    exactly_one_of: tuple[str, ...] = ()
    forbidden: Mapping[str, str] = attrs.field(factory=dict)

    def check(self, value: Any, path: Path) -> list[Problem]:
        if not isinstance(value, dict):
            return _wrong_type(path, "a table", value)
        problems: list[Problem] = []
        fields, forbidden = self.fields, self.forbidden  # read once: a large graph has a hundred thousand keys
        for key, item in value.items():
            field = fields.get(key)
            if field is not None and key not in forbidden:
                problems += field.check(item, path + (key,))
            elif key in forbidden:
                problems.append(Problem(path + (key,), f"{dotted(path + (key,))}: {forbidden[key]}"))
            else:
                known = sorted(self.fields)
                problems.append(
                    Problem(
                        path + (key,),
                        f"unknown setting {key!r} in {dotted(path)}{did_you_mean(key, known)}; known settings: {', '.join(known)}",
                    )
                )
        for key in self.required:
            if key not in value:
                problems.append(Problem(path, f"{dotted(path)} has no {key!r}: add {key} = …"))
        if self.exactly_one_of and not self.forbidden.keys() & value.keys():  # one problem is enough
            present = [k for k in self.exactly_one_of if k in value]
            if len(present) != 1:
                kinds = ", ".join(self.exactly_one_of)
                said = f"has {' and '.join(present)}" if present else "has none"
                problems.append(Problem(path, f"{dotted(path)} {said}: give exactly one of {kinds}"))
        return problems

    def all_pass(self, values: list) -> bool:
        """Tables grouped by the keys they write, in order (the services of a large graph have a
        few such shapes): each shape checked once for unknown, forbidden, missing and exactly-one
        keys, and each setting's values in all the tables at once."""
        if not _types(values) <= {dict}:
            return False
        shapes: dict[tuple[str, ...], list[dict]] = {}
        for value in values:
            shapes.setdefault(tuple(value), []).append(value)
        columns: dict[str, list] = {}
        for shape, tables in shapes.items():
            if not self._shape_passes(set(shape)):
                return False
            for key in shape:
                columns.setdefault(key, []).extend(map(itemgetter(key), tables))
        return all(self.fields[key].all_pass(column) for key, column in columns.items())

    def _shape_passes(self, keys: set[str]) -> bool:
        """Whether a table writing ``keys`` has none unknown or forbidden, all required, and
        exactly one of ``exactly_one_of`` (when that is asked for)."""
        return (
            keys <= self.fields.keys()
            and not keys & self.forbidden.keys()
            and keys.issuperset(self.required)
            and (not self.exactly_one_of or len(keys.intersection(self.exactly_one_of)) == 1)
        )

    @cached_property
    def _defaults(self) -> tuple[dict[str, Any], dict[str, ByKind]]:
        """The read defaults, computed once (a large graph reads thousands of tables), and the
        defaults that depend on the kind."""
        fixed, by_kind = {}, {}
        for key, field in self.fields.items():
            if isinstance(field.default, ByKind):
                by_kind[key] = field.default
            elif field.default is not NO_DEFAULT:
                fixed[key] = field.read(field.default)
        return fixed, by_kind

    def read_written(self, value: Mapping[str, Any]) -> dict[str, Any]:
        """The settings ``value`` writes, read, and no others (no defaults)."""
        readers = self._readers
        out = dict(value)
        for key in value:
            if key in readers:
                out[key] = readers[key](value[key])
        return out

    @cached_property
    def _readers(self) -> dict[str, Any]:
        """The ``read`` of each field whose value is not read as written."""
        return {key: field.read for key, field in self.fields.items() if not field.reads_as_written}

    def read(self, value: Mapping[str, Any], written: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``written``: settings read already, which ``value`` overrides and which stand in for
        the format's defaults (a graph's ``[defaults]``, read once for all its services)."""
        fixed, by_kind = self._defaults
        out = {**fixed, **(written or {}), **self.read_written(value)}
        for key, default in by_kind.items():
            if key not in out:
                out[key] = self.fields[key].read(default.values[out["kind"]])
        return out

    def _shape(self) -> dict:
        out: dict[str, Any] = {
            "type": "object",
            "properties": {k: v.schema() for k, v in self.fields.items()},
            "additionalProperties": False,
        }
        if self.required:
            out["required"] = list(self.required)
        if self.exactly_one_of:
            out["oneOf"] = [{"required": [k]} for k in self.exactly_one_of]
        return out


@attrs.frozen
class NamedTables(Setting):
    """A table whose keys are user-chosen names (services, profiles), each holding ``item``."""

    item: Table
    what: str

    def check(self, value: Any, path: Path) -> list[Problem]:
        if not isinstance(value, dict):
            return _wrong_type(path, "a table", value)
        if all(map(_NAME.match, value)) and self.item.all_pass(list(value.values())):
            return []  # a valid graph: its thousands of services checked a setting at a time
        problems = []
        for name, item in value.items():
            if not _NAME.match(name):
                problems.append(
                    Problem(
                        path + (name,),
                        f"{self.what} name {name!r} must start with a letter or digit and hold only letters, digits, '.', '_' and '-'",
                    )
                )
            problems.extend(self.item.check(item, path + (name,)))
        return problems

    def _shape(self) -> dict:
        return {
            "type": "object",
            "propertyNames": {"pattern": NAME_PATTERN},
            "additionalProperties": self.item.schema(),
        }


@attrs.frozen
class Environment(Setting):
    """Environment variables: strings, and integers and booleans passed as their TOML text
    (``PORT = 8080`` is ``"8080"``, ``DEBUG = true`` is ``"true"``), as Docker Compose takes them."""

    def check(self, value: Any, path: Path) -> list[Problem]:
        if not isinstance(value, dict):
            return _wrong_type(path, "a table of strings", value)
        problems = []
        for key, item in value.items():
            if isinstance(item, str):
                problems += String("value").check(item, path + (key,))
            elif not isinstance(item, int):  # a bool is an int too
                problems += _wrong_type(path + (key,), "a string, an integer or a boolean", item)
        return problems

    def read(self, value: Mapping[str, Any]) -> frozendict[str, str]:
        """Frozen as the model keeps it, so the model takes it as it is: the default (none) is
        read once and shared by every service that sets none (thousands in a large graph)."""
        return frozendict({key: _toml_text(item) for key, item in value.items()})

    def _shape(self) -> dict:
        return {"type": "object", "additionalProperties": {"type": ["string", "integer", "boolean"]}}


def _toml_text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@attrs.frozen
class NotifyFlag(Setting):
    """``notify = true``: the service answers the probe itself, so there is no target (None)."""

    def check(self, value: Any, path: Path) -> list[Problem]:
        if value is True:
            return []
        return [
            Problem(
                path,
                f"{dotted(path)} must be true (the service sends READY=1 over $NOTIFY_SOCKET); to use another probe, remove it",
            )
        ]

    def read(self, value: bool) -> None:
        return None

    def show(self, value: None) -> str:
        return "(READY=1)"

    def _shape(self) -> dict:
        return {"const": True}


@attrs.frozen
class HttpTarget(Setting):
    """``http = "URL"``, or ``http = { url = "URL", status = [200], headers = {…}, insecure = true }``;
    read as an :class:`~supervisor.graph.model.HttpGet` either way."""

    table: Table

    def check(self, value: Any, path: Path) -> list[Problem]:
        if isinstance(value, str):
            return self.table.fields["url"].check(value, path)
        if isinstance(value, dict):
            return self.table.check(value, path)
        return _wrong_type(path, "a URL or a table with url", value)

    def read(self, value: str | Mapping[str, Any]) -> HttpGet:
        settings = self.table.read({"url": value} if isinstance(value, str) else value)
        return HttpGet(**settings)

    def show(self, value: HttpGet) -> str:
        return value.url + (f" (expecting {', '.join(map(str, value.status))})" if value.status else "")

    def _shape(self) -> dict:
        url = self.table.fields["url"]
        return {"oneOf": [{**url.schema(), "description": url.doc}, self.table.schema()]}


_HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"


@attrs.frozen
class Headers(Setting):
    """Request headers: a table of header names (HTTP tokens) to string values."""

    def check(self, value: Any, path: Path) -> list[Problem]:
        if not isinstance(value, dict):
            return _wrong_type(path, "a table of header names and values", value)
        problems = []
        for name, item in value.items():
            if not re.match(_HEADER_NAME, name):
                problems.append(Problem(path + (name,), f"{dotted(path)} has {name!r}, which is not a header name"))
            problems += String("value").check(item, path + (name,))
            if isinstance(item, str) and any(c in item for c in "\r\n\0"):
                problems.append(Problem(path + (name,), f"{dotted(path + (name,))} holds a line break or NUL"))
        return problems

    def _shape(self) -> dict:
        return {
            "type": "object",
            "propertyNames": {"pattern": _HEADER_NAME},
            "additionalProperties": {"type": "string", "pattern": "^[^\r\n\u0000]*$"},
        }


@attrs.frozen
class Paths(Setting):
    """One path, or an array of them; read as a tuple."""

    def check(self, value: Any, path: Path) -> list[Problem]:
        if isinstance(value, str):
            return String(self.doc).check(value, path)
        if isinstance(value, list):
            return Array(self.doc, String("a path")).check(value, path)
        return _wrong_type(path, "a path or an array of paths", value)

    def read(self, value: str | list) -> tuple[str, ...]:
        return (value,) if isinstance(value, str) else tuple(value)

    def _shape(self) -> dict:
        return {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}


_UMASK_PATTERN = r"^0?[0-7]{3}$"


@attrs.frozen
class Umask(Setting):
    """An octal umask as a string ("027"), read as its number."""

    def check(self, value: Any, path: Path) -> list[Problem]:
        return String(self.doc, _UMASK_PATTERN, 'write three octal digits, such as "027"').check(value, path)

    def read(self, value: str) -> int:
        return int(value, 8)

    def show(self, value: int) -> str:
        return f"{value:03o}"

    def _shape(self) -> dict:
        return {"type": "string", "pattern": _UMASK_PATTERN}


# A name, a number, or a ${VAR} for either (checked once expanded).
_ID_PATTERN = r"^([a-z_][a-z0-9_.-]*\$?|[0-9]+|.*\$\{.*)$"


CAPABILITY = String(
    "a capability name",
    NAME_PATTERN,
    "capability names start with a letter or digit and hold only letters, digits, '.', '_' and '-'",
)
SERVICE_NAME = String(
    "a service name",
    NAME_PATTERN,
    "service names start with a letter or digit and hold only letters, digits, '.', '_' and '-'",
)


PROBE_KINDS: Mapping[str, Setting] = {
    "exec": Command("run this command; exit status 0 passes"),
    "tcp": String(
        "connect to HOST:PORT",
        HOST_PORT_PATTERN,
        'write "HOST:PORT" with a port from 0 to 65535, such as "127.0.0.1:2222"',
    ),
    "unix": String("connect to this UNIX socket path"),
    "http": HttpTarget(
        "GET this URL (the answer's body is not read); a 2xx or 3xx status passes, or one of status",
        Table(
            "an HTTP GET",
            {
                "url": String(
                    "the URL to GET",
                    URL_PATTERN,
                    "write an http:// or https:// URL, with a port (if any) from 0 to 65535",
                ),
                "status": Array(
                    "the status codes that pass (none listed: any 2xx or 3xx)",
                    Integer("a status code", minimum=100, maximum=599),
                    unique=True,
                    default=[],
                ),
                "headers": Headers("request headers to send, such as Authorization", default={}),
                "insecure": Boolean(
                    "accept any TLS certificate (a self-signed local endpoint); the connection is still encrypted",
                    default=False,
                ),
            },
            required=("url",),
        ),
    ),
    "file": String("passes once this path exists"),
    "notify": NotifyFlag("the service sends READY=1 over $NOTIFY_SOCKET (the sd_notify protocol)"),
}
"""Each kind of probe: the key a probe table names it by, and how its target is written and read."""


def _probe(role: str, kinds: Mapping[str, Setting], settings: Mapping[str, Setting], **forbidden: str) -> Table:
    return Table(
        f"{role}: exactly one of {', '.join(kinds)}",
        {**kinds, **settings},
        exactly_one_of=tuple(kinds),
        forbidden=forbidden,
    )


READY = _probe(
    "when the service is ready",
    PROBE_KINDS,
    {
        "timeout": Duration("how long to wait for readiness before the start fails", default="30s"),
        "interval": Duration("how often to poll", default="100ms"),
    },
)
CHECK = _probe(
    "how to verify, for as long as the service is up, that what it provides still holds",
    {kind: setting for kind, setting in PROBE_KINDS.items() if kind != "notify"},
    {
        "timeout": Duration("limit for one check", default="5s"),
        "interval": Duration("time between checks", default="10s"),
        "retries": Integer(
            "failed checks in a row before what the service provides counts as lost", minimum=1, default=1
        ),
        "start_period": Duration(
            "how long after the service starts failed checks do not count (until one passes)", default="0s"
        ),
    },
    notify="READY=1 is sent once, so it can say when a service is ready but not that it still is: "
    "move notify = true to ready, and check with exec, tcp, unix, http or file",
)

SERVICE_SETTINGS: dict[str, Any] = {
    "description": String("what this service is for, shown by explain and status", default=""),
    "kind": Choice(
        "longrun runs until stopped; oneshot runs to completion once",
        ("longrun", "oneshot"),
        default="longrun",
    ),
    "command": Command("argv list, or a string split like a shell would (never given to a shell)"),
    "provides": Array("capabilities this service provides", CAPABILITY, unique=True, default=[]),
    "requires": Array(
        "capabilities this service needs before it starts", CAPABILITY, unique=True, default=[]
    ),
    "optional": Boolean("a deployment may switch this service off", default=False),
    "ready": READY,
    "check": CHECK,
    "restart": Choice(
        "when to restart it after it ends",
        ("always", "on-failure", "never"),
        default=ByKind({"longrun": "always", "oneshot": "on-failure"}),
    ),
    "backoff": Table(
        "delay between restarts: starts at initial, doubles up to max",
        {
            "initial": Duration("first delay", default="100ms"),
            "max": Duration("longest delay", default="30s"),
        },
        default={},
    ),
    "max_restarts": Integer("restarts allowed within restart_window before the service is failed", default=5),
    "restart_window": Duration("the window max_restarts counts over", default="60s"),
    "start_timeout": Duration(
        "longest wait for requirements and readiness before the service is failed", default="60s"
    ),
    "critical": Boolean(
        "if this service fails, stop the graph and exit with its exit code (1 if it did not exit by itself)",
        default=False,
    ),
    "main": Boolean(
        'the graph\'s purpose: with exit_when = "main-ended", when it ends the graph stops and exits with its code',
        default=False,
    ),
    "stop_signal": Signal("signal sent to the process group to stop it", default="TERM"),
    "stop_timeout": Duration("time after stop_signal (and drain_timeout) before SIGKILL", default="10s"),
    "drain_timeout": Duration(
        "how long a stopped process may finish its sessions (it gets DRAIN_TIMEOUT in seconds); a "
        "restart lets the old process drain in the background while its replacement starts",
        default="0s",
    ),
    "environment": Environment(
        "extra environment variables; integers and booleans are passed as written (8080, true)", default={}
    ),
    "working_dir": String("directory to run the command in"),
    "env_file": Paths(
        "NAME=VALUE files read when the service starts (relative to the graph's directory); "
        "environment wins over them",
        default=[],
    ),
    "user": String(
        "run as this user (a name or a number), with its groups, HOME, USER and LOGNAME; the supervisor must be root",
        _ID_PATTERN,
        "write a user name or number",
    ),
    "group": String(
        "run with this primary group (a name or a number); the supervisor must be root",
        _ID_PATTERN,
        "write a group name or number",
    ),
    "umask": Umask('the umask to run with, in octal, such as "027" (default: the supervisor\'s)'),
    "replicas": Integer(
        "number of copies to run, named SERVICE@1 … SERVICE@N", minimum=1, maximum=1024, default=1
    ),
    "listen": Array(
        "sockets the supervisor opens and hands to every replica (LISTEN_FDS)",
        String("a socket", LISTEN_PATTERN, 'write "tcp:HOST:PORT" (a port from 0 to 65535) or "unix:PATH"'),
        unique=True,
        default=[],
    ),
}

_NOT_DEFAULTS = {
    "command": "each service has its own command: move it into the service",
    "provides": "capabilities belong to one service each: move it into the service that provides them",
    "requires": "requirements belong to each service: move it into the services that need it",
    "description": "describe each service in its own table",
    "main": "one service is the graph's main: mark it in its own table",
}

SERVICE = Table("a service", SERVICE_SETTINGS, required=("command",))
DEFAULTS = Table(
    "settings applied to every service that does not set them",
    {k: v for k, v in SERVICE_SETTINGS.items() if k not in _NOT_DEFAULTS},
    forbidden=_NOT_DEFAULTS,
)
PROFILE = Table(
    "a deployment variant",
    {
        "description": String("what this variant is for", default=""),
        "disable": Array("services switched off in this variant", SERVICE_NAME, unique=True, default=[]),
        "offers": Array("capabilities this variant must deliver", CAPABILITY, unique=True, default=[]),
    },
)
EXIT_WHEN = Choice(
    "when the supervisor stops the graph by itself and exits: never (it runs until stopped), "
    "main-ended (when the service marked main ends for good, with its exit code), or all-ended "
    "(when every unit has ended: 0 if none failed, else the first failed one's exit code)",
    ("never", "main-ended", "all-ended"),
    default="never",
)
DOCUMENT = Table(
    "a graph-supervisor service graph",
    {
        "version": Integer("format version", minimum=FORMAT_VERSION, maximum=FORMAT_VERSION),
        "name": String(
            "the graph's name; also names its runtime directory",
            NAME_PATTERN,
            "names start with a letter or digit and hold only letters, digits, '.', '_' and '-'",
        ),
        "description": String("what this graph runs"),
        "exit_when": EXIT_WHEN,
        "defaults": DEFAULTS,
        "services": NamedTables("the services, by name", SERVICE, "service"),
        "profiles": NamedTables("deployment variants, by name", PROFILE, "profile"),
    },
    required=("version", "services"),
)


def validate(document: Mapping[str, Any]) -> list[Problem]:
    """Every way ``document`` (parsed TOML) breaks the format, each at its path."""
    return DOCUMENT.check(dict(document), ()) or _main_problems(document)


def _main_problems(document: Mapping[str, Any]) -> list[Problem]:
    """``main = true`` on one service exactly when ``exit_when = "main-ended"`` (what JSON Schema
    cannot say across tables)."""
    mains = [name for name, table in document["services"].items() if table.get("main")]
    wanted = document.get("exit_when") == "main-ended"
    if len(mains) > 1:
        return [Problem(("services", mains[1], "main"), f"{mains[0]} and {mains[1]} are both main: keep one")]
    if wanted and not mains:
        return [Problem(("exit_when",), 'exit_when is "main-ended", but no service is main: add main = true to one')]
    if mains and not wanted:
        return [
            Problem(
                ("services", mains[0], "main"),
                f'{mains[0]} is main, which only matters with exit_when = "main-ended": add that, or remove main',
            )
        ]
    return []


def json_schema() -> dict:
    """The format as JSON Schema (draft 2020-12), for editors (taplo, Even Better TOML)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://graph-supervisor.dev/schema/graph-v1.json",
        "title": "graph-supervisor service graph",
        **DOCUMENT.schema(),
    }
