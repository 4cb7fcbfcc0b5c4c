"""``supervisor explain``: providers and consumers of a capability, and what a service takes down."""

import json

from supervisor.cli import main
from supervisor.graph.loader import load_file
from supervisor.views.explain import explain, path_to

INCIDENT = "graphs/incident-2026-02-26.toml"
FIXED = "graphs/device-proxy.toml"


def run_explain(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["explain", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_incident_switching_web_terminal_off_loses_keys_then_proxy_then_device_ssh(capsys):
    status, out, _ = run_explain(capsys, INCIDENT, "web-terminal")
    assert status == 0
    text = " ".join(out.split())
    assert "loses ssh-identity-keys └── ssh-proxy cannot start └── loses device-ssh" in text
    assert (
        "profile cli-ssh (web-terminal is off there already) cannot deliver device-ssh: web-terminal off "
        "→ loses ssh-identity-keys → ssh-proxy cannot start → loses device-ssh" in text
    )


def test_incident_json_per_profile(capsys):
    status, out, _ = run_explain(capsys, INCIDENT, "web-terminal", "--format", "json")
    assert status == 0
    report = json.loads(out)
    assert report["capability"]["offered_by"] == ["web"]  # web-terminal is a capability too
    per_variant = {item["profile"]: item for item in report["service"]["switch_off"]}
    assert per_variant["cli-ssh"]["already_off"] is True
    assert per_variant["cli-ssh"]["cannot_start"] == ["ssh-proxy"]
    assert per_variant["cli-ssh"]["failing_offers"] == ["device-ssh"]
    assert per_variant["web"]["failing_offers"] == ["web-terminal", "device-ssh"]
    assert per_variant[None]["failing_offers"] == []


def test_chain_is_a_tree_from_the_service_to_each_lost_capability():
    graph = load_file(INCIDENT).graph
    chain = explain(graph, "web-terminal").service.switch_off[0].chain
    assert [loss.capability for loss in chain.losses] == ["web-terminal", "ssh-identity-keys"]
    proxy = chain.losses[1].consumers[0]
    assert proxy.service == "ssh-proxy"
    assert [loss.capability for loss in proxy.losses] == ["device-ssh"]
    assert path_to(chain, "device-ssh") == ["web-terminal", "ssh-identity-keys", "ssh-proxy", "device-ssh"]


def test_fixed_graph_web_terminal_takes_nothing_else_down(capsys):
    _, out, _ = run_explain(capsys, FIXED, "web-terminal", "--format", "json")
    switch_off = json.loads(out)["service"]["switch_off"]
    assert all(item["cannot_start"] == [] for item in switch_off)
    assert {item["profile"]: item["failing_offers"] for item in switch_off}["cli-ssh"] == []


def test_capability_in_each_profile_with_the_reason_it_fails(capsys):
    status, out, _ = run_explain(capsys, INCIDENT, "ssh-identity-keys", "--format", "json")
    assert status == 0
    report = json.loads(out)
    assert report["service"] is None
    capability = report["capability"]
    assert capability["providers"] == ["web-terminal"] and capability["consumers"] == ["ssh-proxy"]
    variants = {v["profile"]: v for v in capability["variants"]}
    assert variants["web"]["deliverable"] is True
    assert variants["cli-ssh"]["deliverable"] is False
    assert variants["cli-ssh"]["switched_off"] == ["web-terminal"]
    assert "switched off here" in variants["cli-ssh"]["reason"]


def test_profile_limits_the_variants(capsys):
    status, out, _ = run_explain(capsys, FIXED, "device-ssh", "--profile", "cli-ssh")
    assert status == 0
    assert "in profile cli-ssh: deliverable, offered here" in out
    assert "base graph" not in out and "profile web" not in out


def test_service_text_shows_description_and_providers(capsys):
    _, out, _ = run_explain(capsys, FIXED, "ssh-proxy")
    assert "service ssh-proxy (longrun)" in out
    assert "Twisted Conch SSH proxy workers" in out
    assert "ssh-identity-keys from key-loader" in out


def test_unknown_name_exits_2_with_a_suggestion(capsys):
    status, out, err = run_explain(capsys, FIXED, "ssh-agnt")
    assert status == 2 and out == ""
    assert "'ssh-agnt' is neither a service nor a capability (did you mean 'ssh-agent'?)" in err


def test_unknown_profile_and_missing_file_exit_2(capsys):
    assert run_explain(capsys, FIXED, "ssh-agent", "--profile", "nope")[0] == 2
    status, _, err = run_explain(capsys, "graphs/none.toml", "ssh-agent")
    assert status == 2 and "graphs/none.toml: no such file" in err
