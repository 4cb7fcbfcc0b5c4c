"""Every graph in graphs/ is linted: production graphs clean, the incident graph still failing."""

import json
import os
import sys
from pathlib import Path

import pytest

from examples.demo.stack import GRAPHS

REGRESSION_CASES = {"incident-2026-02-26.toml"}
SHIPPED = sorted(GRAPHS.glob("*.toml"))


def test_graphs_are_shipped():
    names = {path.name for path in SHIPPED}
    assert {"device-proxy.toml", "incident-2026-02-26.toml"} <= names


@pytest.mark.parametrize("path", [p for p in SHIPPED if p.name not in REGRESSION_CASES], ids=lambda p: p.name)
def test_production_graph_lints_clean_with_strict(path, cli, monkeypatch, tmp_path):
    # As the demo and the container run it: "python" is the interpreter that has the services
    # installed (here an editable install, found by its own import finder, not from the directory).
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    status, out, _ = cli("lint", "--strict", "--format", "json", str(path))
    findings = json.loads(out)["findings"]
    assert [f for f in findings if f["severity"] != "info"] == []
    assert status == 0


def test_incident_graph_keeps_failing(cli):
    status, out, _ = cli("lint", "--format", "json", str(GRAPHS / "incident-2026-02-26.toml"))
    assert status == 1
    findings = {(f["rule"], f["service"], f["profile"]) for f in json.loads(out)["findings"]}
    assert ("missing-provider", "ssh-proxy", "cli-ssh") in findings
    assert ("coupled-provider", "web-terminal", None) in findings


def test_device_proxy_keeps_key_loading_separate(cli):
    from supervisor.graph.loader import load_file

    graph = load_file(str(GRAPHS / "device-proxy.toml")).graph
    assert graph.providers["ssh-identity-keys"] == ("key-loader",)
    loader = graph.services["key-loader"]
    assert loader.kind == "oneshot" and loader.check is not None
    assert graph.services["ssh-proxy"].replicas >= 2 and graph.services["ssh-proxy"].listen
    assert graph.services["web-terminal"].optional
    assert graph.profiles["cli-ssh"].disable == ("web-terminal",)
    assert "device-ssh" in graph.profiles["cli-ssh"].offers
    assert "web-terminal" in graph.profiles["web"].offers
