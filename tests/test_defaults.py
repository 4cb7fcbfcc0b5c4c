"""The graph format's defaults are declared once, in the schema: the loader fills them in, the
model carries no defaults of its own, and the README states the same values."""

import re
import signal

import pytest

from examples.demo.stack import ROOT
from supervisor.graph import schema
from supervisor.graph.loader import load_file

README = (ROOT / "README.md").read_text(encoding="utf-8")
MINIMAL = 'version = 1\n[services.{name}]\ncommand = "run"\nkind = "{kind}"\nready = {{ file = "/x" }}\ncheck = {{ tcp = "127.0.0.1:1" }}\n'


def _defaulted(settings) -> list[str]:
    return [k for k, v in settings.items() if v.default is not schema.NO_DEFAULT]


@pytest.mark.parametrize("kind", ["longrun", "oneshot"])
def test_a_service_that_sets_nothing_gets_the_schema_defaults(write_graph, kind):
    service = load_file(write_graph(MINIMAL.format(name="s", kind=kind))).graph.services["s"]
    for key in _defaulted(schema.SERVICE_SETTINGS):
        if key == "kind":
            continue
        setting = schema.SERVICE_SETTINGS[key]
        default = setting.default
        if isinstance(default, schema.ByKind):
            default = default.values[kind]
        expected = setting.read(default)
        actual = getattr(service, key)
        if key == "backoff":
            actual = {"initial": actual.initial, "max": actual.max}
        assert actual == expected, key
    for probe, table in ((service.ready, schema.READY), (service.check, schema.CHECK)):
        for key in _defaulted(table.fields):
            assert getattr(probe, key) == table.fields[key].read(table.fields[key].default), key
    assert service.restart == ("always" if kind == "longrun" else "on-failure")


def test_stop_signal_is_read_as_a_signal_when_the_graph_loads(write_graph):
    graph = load_file(write_graph(MINIMAL.format(name="s", kind="longrun") + 'stop_signal = "hup"\n')).graph
    assert graph.services["s"].stop_signal is signal.SIGHUP


def _cells(setting: str) -> list[str]:
    row = re.search(rf"^\| `{setting}` \|(.*)\|$", README, re.MULTILINE)
    assert row, f"the README's settings table has no row for {setting}"
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.group(1))]  # \| is inside a cell


def _written(value) -> list[str]:
    """How the README writes a default: each value it must show."""
    if isinstance(value, schema.ByKind):
        return [str(v) for v in value.values.values()]
    if isinstance(value, bool):
        return ["false" if not value else "true"]
    return [str(value) if not isinstance(value, list | dict) else repr(value)]


@pytest.mark.parametrize("key", _defaulted(schema.SERVICE_SETTINGS))
def test_readme_states_each_service_default_the_schema_declares(key):
    setting = schema.SERVICE_SETTINGS[key]
    cell = _cells(key)[1].replace("`", "").replace('"', "")
    if isinstance(setting, schema.Table):
        expected = [w for field in setting.fields.values() for w in _written(field.default)]
    elif setting.default == "":
        assert cell == "", f"README gives {key} a default: {cell!r}"
        return
    else:
        expected = _written(setting.default)
    for word in expected:
        assert re.search(rf"(?<![\w.]){re.escape(word)}(?![\w.])", cell), (key, word, cell)


def test_readme_states_the_probe_defaults():
    paragraph = README[README.index("**Probes**") :].split("\n\n")[0]
    written = re.findall(r"default\s+`([^`]+)`", paragraph)
    declared = [str(t.fields[key].default) for t in (schema.READY, schema.CHECK) for key in _defaulted(t.fields)]
    assert written == declared


def test_the_runtime_runs_every_probe_kind_the_schema_declares():
    """A kind is declared in the schema and run by runtime/probes; notify is answered by the
    service itself (READY=1), so it has no target and nothing to poll."""
    from supervisor.runtime.probes import PROBES

    assert set(PROBES) == set(schema.PROBE_KINDS) - {"notify"}
    assert schema.PROBE_KINDS["notify"].read(True) is None
