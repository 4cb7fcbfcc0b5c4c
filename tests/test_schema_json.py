"""graphs/schema.json is what editors validate against, so it must say what the loader enforces.

The file is generated from the same table as :func:`supervisor.graph.schema.validate`; these tests keep
the committed copy in step with that table, and check that the JSON Schema and the loader agree
on the shipped graphs and on documents either side of the format's edges.
"""

import copy
import json
import tomllib
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from examples.demo.stack import GRAPHS
from supervisor.graph.schema import json_schema, validate

SCHEMA_FILE = GRAPHS / "schema.json"
SHIPPED = sorted(GRAPHS.glob("*.toml"))

VALID = {
    "version": 1,
    "name": "example",
    "services": {
        "agent": {
            "command": ["ssh-agent", "-D"],
            "provides": ["ssh-agent"],
            "ready": {"unix": "/run/agent.sock", "timeout": "5s"},
        },
        "proxy": {
            "command": "proxy --port 2222",
            "requires": ["ssh-agent"],
            "provides": ["device-ssh"],
            "check": {"tcp": "127.0.0.1:2222", "interval": "10s"},
        },
    },
    "profiles": {"cli": {"offers": ["device-ssh"]}},
}


def _with(path: tuple[str, ...], value: object) -> dict:
    """A deep copy of VALID with ``value`` set at ``path``."""
    document = copy.deepcopy(VALID)
    table = document
    for key in path[:-1]:
        table = table.setdefault(key, {})
    table[path[-1]] = value
    return document


def _without(path: tuple[str, ...]) -> dict:
    document = copy.deepcopy(VALID)
    table = document
    for key in path[:-1]:
        table = table[key]
    del table[path[-1]]
    return document


INVALID = {
    "unknown service setting": _with(("services", "agent", "comand"), ["x"]),
    "unknown top-level key": _with(("servics",), {}),
    "unknown probe setting": _with(("services", "agent", "ready", "retries"), 3),
    "bad duration": _with(("services", "agent", "stop_timeout"), "10 seconds"),
    "duration without unit": _with(("services", "agent", "ready", "timeout"), "5"),
    "duration with a space": _with(("services", "agent", "stop_timeout"), " 10s"),
    "duration as a number": _with(("services", "agent", "restart_window"), 60),
    "two probe kinds": _with(("services", "agent", "ready"), {"unix": "/run/a.sock", "exec": ["true"]}),
    "no probe kind": _with(("services", "agent", "check"), {"interval": "10s"}),
    "replicas 0": _with(("services", "agent", "replicas"), 0),
    "replicas too many": _with(("services", "agent", "replicas"), 1025),
    "bad restart value": _with(("services", "agent", "restart"), "sometimes"),
    "bad kind": _with(("services", "agent", "kind"), "daemon"),
    "no command": _without(("services", "agent", "command")),
    "empty command": _with(("services", "agent", "command"), []),
    "no version": _without(("version",)),
    "wrong version": _with(("version",), 2),
    "bad service name": _with(("services", "-agent"), {"command": ["x"]}),
    "bad capability name": _with(("services", "agent", "provides"), ["ssh agent"]),
    "capability listed twice": _with(("services", "proxy", "requires"), ["ssh-agent", "ssh-agent"]),
    "notify in a check": _with(("services", "proxy", "check"), {"notify": True}),
    "notify false": _with(("services", "proxy", "ready"), {"notify": False}),
    "tcp port out of range": _with(("services", "proxy", "check"), {"tcp": "127.0.0.1:99999"}),
    "listen port out of range": _with(("services", "proxy", "listen"), ["tcp:127.0.0.1:65536"]),
    "http port out of range": _with(("services", "proxy", "check"), {"http": "http://127.0.0.1:99999/"}),
    "http table without url": _with(("services", "proxy", "check"), {"http": {"status": [200]}}),
    "http status out of range": _with(("services", "proxy", "check"), {"http": {"url": "http://a/", "status": [99]}}),
    "http header with a line break": _with(
        ("services", "proxy", "check"), {"http": {"url": "http://a/", "headers": {"X-A": "a\r\nX-B: b"}}}
    ),
    "http header name with a space": _with(
        ("services", "proxy", "check"), {"http": {"url": "http://a/", "headers": {"X A": "a"}}}
    ),
    "http insecure not a boolean": _with(
        ("services", "proxy", "check"), {"http": {"url": "https://a/", "insecure": "yes"}}
    ),
    "unknown exit_when": _with(("exit_when",), "main"),
    "main in defaults": _with(("defaults", "main"), True),
    "tcp without port": _with(("services", "proxy", "check"), {"tcp": "localhost"}),
    "http without scheme": _with(("services", "proxy", "check"), {"http": "localhost/healthz"}),
    "bad listen": _with(("services", "proxy", "listen"), ["udp:0.0.0.0:53"]),
    "optional not boolean": _with(("services", "proxy", "optional"), "yes"),
    "environment value a number with a point": _with(("services", "proxy", "environment"), {"RATIO": 1.5}),
    "environment value an array": _with(("services", "proxy", "environment"), {"HOSTS": ["a", "b"]}),
    "command in defaults": _with(("defaults", "command"), ["x"]),
    "unknown profile setting": _with(("profiles", "cli", "disables"), ["proxy"]),
    "services not a table": _with(("services",), ["agent"]),
}

VALID_VARIANTS = {
    "as given": VALID,
    "compound durations": _with(("services", "agent", "stop_timeout"), "1h30m"),
    "milliseconds": _with(("services", "agent", "ready", "interval"), "250ms"),
    "notify probe": _with(("services", "proxy", "ready"), {"notify": True, "timeout": "20s"}),
    "exec probe as a string": _with(("services", "proxy", "check"), {"exec": "probe --quick"}),
    "http probe": _with(("services", "proxy", "check"), {"http": "https://127.0.0.1/healthz"}),
    "tcp probe with variables": _with(
        ("services", "proxy", "check"), {"tcp": "${HOST:-127.0.0.1}:${PORT:-2222}"}
    ),
    "http probe with a port variable": _with(
        ("services", "proxy", "check"), {"http": "http://[::1]:${PORT:-8080}/healthz?full=1"}
    ),
    "http probe table": _with(
        ("services", "proxy", "check"),
        {
            "http": {
                "url": "https://127.0.0.1:${PORT:-8443}/healthz",
                "status": [200, 204],
                "headers": {"Authorization": "Bearer ${TOKEN}", "Host": "example.org"},
                "insecure": True,
            }
        },
    ),
    "a main service": {
        **_with(("services", "proxy", "main"), True),
        "exit_when": "main-ended",
    },
    "all-ended": _with(("exit_when",), "all-ended"),
    "most replicas": _with(("services", "proxy", "replicas"), 1024),
    "restart on-failure": _with(("services", "proxy", "restart"), "on-failure"),
    "oneshot": _with(("services", "agent", "kind"), "oneshot"),
    "defaults": _with(("defaults",), {"stop_timeout": "5s", "backoff": {"initial": "1s", "max": "1m"}}),
    "listen sockets": _with(("services", "proxy", "listen"), ["tcp:0.0.0.0:2222", "unix:/run/p.sock"]),
    "environment": _with(("services", "proxy", "environment"), {"PORT": "${PORT:-2222}"}),
    "environment numbers and booleans": _with(
        ("services", "proxy", "environment"), {"PORT": 2222, "DEBUG": True, "OFFSET": -1}
    ),
    "profile disables an optional service": _with(
        ("profiles", "lite"), {"disable": ["proxy"], "description": "agent only"}
    ),
}


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def test_committed_schema_is_current():
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == json_schema(), (
        "graphs/schema.json is out of date with supervisor/graph/schema.py: "
        "regenerate it with `supervisor schema > graphs/schema.json`"
    )


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(json_schema())


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_graphs_validate(path: Path, validator: Draft202012Validator):
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    assert validate(document) == []
    assert [e.message for e in validator.iter_errors(document)] == []


@pytest.mark.parametrize("document", INVALID.values(), ids=INVALID.keys())
def test_invalid_documents_are_rejected_by_both(document: dict, validator: Draft202012Validator):
    assert validate(document), "the loader accepts it, so this case does not test the edge it names"
    assert not validator.is_valid(document), "the loader rejects it but graphs/schema.json accepts it"


@pytest.mark.parametrize("document", VALID_VARIANTS.values(), ids=VALID_VARIANTS.keys())
def test_valid_documents_are_accepted_by_both(document: dict, validator: Draft202012Validator):
    assert validate(document) == []
    assert [e.message for e in validator.iter_errors(document)] == []
