"""Properties of load + lint over graphs nobody wrote by hand.

The hand-written lint tests pin messages; these check what must hold for every input: lint never
raises, every finding points inside the file, the result is deterministic, and a profile that
lint passes really can deliver what it offers (the 2026-02-26 incident was a profile that could
not). Broken input, random bytes or mangled shipped graphs, must come back as findings with a
place, never as an exception.
"""

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervisor.check.analysis import Startability, startable
from supervisor.check.lint import RULES, lint
from supervisor.graph.loader import load_bytes

SHIPPED = {p.name: p.read_bytes() for p in sorted((Path(__file__).parent.parent / "graphs").glob("*.toml"))}
SERVICE_NAMES = ["agent", "keys", "proxy", "web", "db", "registry.v2", "cache_1"]
CAPABILITIES = ["ssh-agent", "keys", "device-ssh", "web-terminal", "registry", "cache.v1"]
UNKNOWN_SERVICES = ["ghost", "webb"]
DELIVERY_RULES = {"missing-provider", "optional-provider", "offer-unavailable", "cycle"}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- a tiny TOML writer: enough for the documents below, with both one-line and multi-line layouts


def _key(name: str) -> str:
    bare = name.replace("-", "").replace("_", "").isalnum()
    return name if bare else json.dumps(name)


def _value(value: object, multiline: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if multiline and value:
        return "[\n" + "".join(f"  {_value(item)},  # item\n" for item in value) + "]"
    return "[" + ", ".join(_value(item) for item in value) + "]"


def to_toml(document: dict, multiline: bool) -> str:
    """TOML text for ``document``: top-level scalars, then one [section.name] table per entry."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in document.items() if not isinstance(v, dict)]
    for section in ("services", "profiles"):
        for name, table in document.get(section, {}).items():
            lines += ["", f"# the {name} entry", f"[{section}.{_key(name)}]"]
            lines += [f"{_key(k)} = {_value(v, multiline)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


# -- documents: valid graph files with arbitrary wiring (cycles, unknown names, missing providers)


def _subset(pool: list[str], min_size: int = 0) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pool), unique=True, min_size=min_size, max_size=3)


_CHECKS = st.one_of(
    st.builds(lambda port: {"tcp": f"127.0.0.1:{port}"}, st.integers(1, 65535)),
    st.just({"exec": ["probe", "--quick"], "timeout": "2s"}),
)
_PROBES = st.one_of(_CHECKS, st.just({"notify": True}))  # notify answers readiness only


@st.composite
def services(draw) -> dict:
    # Every service provides something, so that profiles which deliver their offers are common
    # enough for the incident property below to be tested, not vacuously true.
    table: dict = {
        "command": draw(st.sampled_from([["run", "it"], "run it --now"])),
        "provides": draw(_subset(CAPABILITIES, min_size=1)),
    }
    for key, value in (
        ("kind", st.sampled_from(["longrun", "oneshot"])),
        ("requires", _subset(CAPABILITIES)),
        ("optional", st.booleans()),
        ("ready", _PROBES),
        ("check", _CHECKS),
    ):
        if draw(st.booleans()):
            table[key] = draw(value)
    return table


@st.composite
def profiles(draw) -> dict:
    table: dict = {}
    if draw(st.booleans()):
        table["disable"] = draw(_subset(SERVICE_NAMES + UNKNOWN_SERVICES))
    if draw(st.booleans()):
        table["offers"] = draw(_subset(CAPABILITIES))
    return table


wild_documents = st.fixed_dictionaries(
    {
        "version": st.just(1),
        "services": st.dictionaries(st.sampled_from(SERVICE_NAMES), services(), min_size=1, max_size=6),
        "profiles": st.dictionaries(st.sampled_from(["cli", "web", "lite.v2"]), profiles(), max_size=3),
    }
)


@st.composite
def layered_documents(draw) -> dict:
    """Graphs wired like real ones: each service requires what earlier ones provide.

    Wild wiring rarely gives a profile that lint passes, which would leave the incident property
    vacuous; here profiles pass or fail only by what they switch off.
    """
    names = draw(st.lists(st.sampled_from(SERVICE_NAMES), unique=True, min_size=1))
    table: dict = {}
    provided: list[str] = []
    for index, name in enumerate(names):
        requires = draw(st.lists(st.sampled_from(provided), unique=True, max_size=2)) if provided else []
        table[name] = {"command": ["run", name], "provides": [CAPABILITIES[index % len(CAPABILITIES)]]}
        table[name] |= {"requires": requires, "optional": draw(st.booleans()), "ready": {"notify": True}}
        provided.append(table[name]["provides"][0])
    profile = st.fixed_dictionaries(
        {"disable": _subset(names), "offers": st.lists(st.sampled_from(provided), unique=True, max_size=3)}
    )
    return {
        "version": 1,
        "services": table,
        "profiles": draw(st.dictionaries(st.sampled_from(["cli", "web"]), profile)),
    }


documents = st.one_of(wild_documents, layered_documents())


def _check_places(loaded) -> None:
    for finding in loaded.findings + tuple(lint(loaded.graph) if loaded.graph is not None else ()):
        assert RULES[finding.rule.id] is finding.rule
        location = finding.location
        assert location.file == loaded.source.file
        assert 1 <= location.line <= max(1, len(loaded.source.lines)), finding
        assert 1 <= location.column <= len(loaded.source.line_text(location.line)) + 1, finding


@SETTINGS
@given(documents, st.booleans())
def test_generated_graphs_lint_with_findings_in_the_file(document: dict, multiline: bool):
    loaded = load_bytes(to_toml(document, multiline).encode(), "generated.toml")
    assert loaded.graph is not None, [f.message for f in loaded.findings]
    _check_places(loaded)


@SETTINGS
@given(documents, st.booleans())
def test_lint_is_deterministic(document: dict, multiline: bool):
    data = to_toml(document, multiline).encode()
    graph = load_bytes(data, "generated.toml").graph
    assert lint(graph) == lint(graph) == lint(load_bytes(data, "generated.toml").graph)


@SETTINGS
@given(documents)
def test_a_profile_lint_passes_delivers_its_offers(document: dict):
    """No delivery error for a profile means every capability it offers has a startable provider."""
    graph = load_bytes(to_toml(document, False).encode(), "generated.toml").graph
    for name, profile in graph.profiles.items():
        if any(f.rule.id in DELIVERY_RULES for f in lint(graph, name)):
            continue
        running = startable(graph, graph.disabled_by(name))
        for capability in profile.offers:
            assert any(p in running for p in graph.providers.get(capability, ())), (name, capability)


@SETTINGS
@given(documents, st.data())
def test_each_variants_startable_set_is_the_full_fixed_point(document: dict, data):
    """What Startability derives from the base set equals startable() computed from scratch,
    repairing it whatever the damage as well as with its own limit (in graphs this small, most
    variants pass a fifth of the graph and get the whole fixed point)."""
    graph = load_bytes(to_toml(document, False).encode(), "generated.toml").graph
    startability = Startability(graph)
    repairing = Startability(graph, repair_limit=len(graph.services))
    for _ in range(4):
        off = frozenset(data.draw(st.lists(st.sampled_from(sorted(graph.services)), max_size=3)))
        assert startability.of(off) == repairing.of(off) == startable(graph, off), sorted(off)


# -- broken input: never an exception, always a graph or syntax/schema findings with a place


def _check_broken(data: bytes) -> None:
    loaded = load_bytes(data, "broken.toml")
    if loaded.graph is None:
        assert loaded.findings
        assert {f.rule.id for f in loaded.findings} <= {"syntax", "schema"}
        assert all(f.location.line >= 1 and f.location.column >= 1 for f in loaded.findings)
    else:
        _check_places(loaded)


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_give_findings_not_exceptions(data: bytes):
    _check_broken(data)


_TOML_CHARS = st.sampled_from(list("[]{}\"'=,.#\n \\") + ["x", "1", "é", '"""', "\x00"])


@st.composite
def mutated_graphs(draw) -> bytes:
    """A shipped graph with a few characters or lines deleted, inserted or duplicated."""
    text = SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))].decode()
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        where = draw(st.integers(0, len(text)))
        line = draw(st.integers(0, len(lines) - 1))
        match draw(st.sampled_from(["delete", "insert", "duplicate", "delete line", "duplicate line"])):
            case "delete":
                text = text[:where] + text[where + 1 :]
            case "insert":
                text = text[:where] + draw(_TOML_CHARS) + text[where:]
            case "duplicate":
                text = text[:where] + text[where : where + 1] * 2 + text[where + 1 :]
            case "delete line":
                text = "\n".join(lines[:line] + lines[line + 1 :])
            case "duplicate line":
                text = "\n".join(lines[: line + 1] + lines[line:])
    return text.encode()


@SETTINGS
@given(mutated_graphs())
def test_mutated_graphs_give_findings_not_exceptions(data: bytes):
    _check_broken(data)
