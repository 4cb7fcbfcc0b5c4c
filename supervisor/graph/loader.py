"""Graph files in, :class:`~supervisor.graph.model.Graph` out, or findings that say exactly what is wrong.

A file that is not TOML, or not a valid graph, is not an exception: it is a ``syntax`` or
``schema`` finding with its line and column, so ``lint`` reports it like any other rule and the
other files still get linted.
"""

import re
from pathlib import Path
from typing import Any

import attrs

from supervisor.check.findings import SCHEMA, SYNTAX, Finding
from supervisor.graph import schema, toml
from supervisor.graph.model import Backoff, Check, Graph, Probe, Profile, Service
from supervisor.graph.source import Source

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)$")


class GraphFileError(Exception):
    """The graph file cannot be read at all (missing, a directory, no permission)."""


@attrs.frozen
class Loaded:
    source: Source
    graph: Graph | None
    findings: tuple[Finding, ...] = ()


_UNREADABLE = ((FileNotFoundError, "no such file"), (IsADirectoryError, "is a directory, not a graph file"))


def read_bytes(path: str) -> bytes:
    """The bytes of ``path``, or GraphFileError saying why they cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as error:
        why = next((why for kind, why in _UNREADABLE if isinstance(error, kind)), None)
        raise GraphFileError(f"{path}: {why or f'cannot read it ({error.strerror})'}") from None


def load_file(path: str) -> Loaded:
    """Load the graph at ``path``; raises GraphFileError only if it cannot be read."""
    return load_bytes(read_bytes(path), path)


def load_bytes(data: bytes, file: str) -> Loaded:
    try:
        text = data.decode("utf-8")  # decoded once: a large graph is megabytes
    except UnicodeDecodeError as error:
        source = Source(file, data.decode("utf-8", errors="replace"))
        line = data[: error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        message = f"byte {data[error.start]:#04x} is not UTF-8: save the file as UTF-8"
        return Loaded(source, None, (Finding(SYNTAX, message, source.at(line, column)),))
    return load_source(Source(file, text))


def load_source(source: Source) -> Loaded:
    try:
        document = toml.parse(source.text)
    except toml.TOMLDecodeError as error:
        return Loaded(source, None, (_syntax_finding(source, error),))
    problems = schema.validate(document)
    if problems:
        findings = tuple(Finding(SCHEMA, p.message, source.locate(p.path)) for p in problems)
        return Loaded(source, None, findings)
    return Loaded(source, build_graph(document, source))


def _syntax_finding(source: Source, error: toml.TOMLDecodeError) -> Finding:
    message = str(error)
    position = _TOML_POSITION.search(message)
    if position:
        line, column = int(position.group(1)), int(position.group(2))
        message = message[: position.start()].rstrip()
    else:
        line = max(1, len(source.lines))
        column = len(source.line_text(line)) + 1
        message = message.replace("(at end of document)", "").rstrip()
    return Finding(SYNTAX, f"not valid TOML: {message}; fix the TOML at this point", source.at(line, column))


def build_graph(document: dict[str, Any], source: Source) -> Graph:
    """Turn a document that passed :func:`schema.validate` into a Graph (no checks left to fail).

    The schema reads every value and fills in every default; this only assembles the model.
    """
    defaults = schema.DEFAULTS.read_written(document.get("defaults", {}))  # once, not once per service
    services = {
        name: _build_service(name, schema.SERVICE.read(table, defaults))
        for name, table in document["services"].items()
    }
    profiles = {
        name: Profile(name=name, **schema.PROFILE.read(table))
        for name, table in document.get("profiles", {}).items()
    }
    return Graph(
        name=document.get("name") or Path(source.file).stem,
        services=services,
        profiles=profiles,
        source=source,
        description=document.get("description", ""),
        exit_when=document.get("exit_when", schema.EXIT_WHEN.default),
    )


def _build_service(name: str, settings: dict[str, Any]) -> Service:
    """The service ``settings`` (read by the schema, a dict of its own) describe: the model's
    objects put in place of their settings, in the same dict (a large graph builds thousands)."""
    settings["backoff"] = Backoff(**settings["backoff"])
    settings["ready"] = _build_probe(Probe, settings.get("ready"))
    settings["check"] = _build_probe(Check, settings.get("check"))
    return Service(name=name, **settings)


def _build_probe(model: type[Probe], settings: dict[str, Any] | None) -> Probe | None:
    """The probe ``settings`` describe; every one of them that is not the kind is the model's field."""
    if settings is None:
        return None
    (kind,) = settings.keys() & schema.PROBE_KINDS.keys()  # exactly one: the schema checked
    fields = dict(settings)
    target = fields.pop(kind)
    return model(kind=kind, target=target, description=f"{kind} {schema.PROBE_KINDS[kind].show(target)}", **fields)
