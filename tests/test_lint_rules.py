"""Every lint rule, with a graph that triggers it and one that does not."""

import json
import re
import shutil

import pytest

from examples.demo.stack import ROOT
from supervisor.check.findings import Scope
from supervisor.check.lint import RULES


def rules_of(findings, rule):
    return [f for f in findings if f["rule"] == rule]


BASE = """
version = 1
[services.agent]
command = "agent"
provides = ["agent"]
ready = { unix = "/tmp/agent.sock" }
"""


def test_missing_provider_when_nothing_provides_it(write_graph, lint_json):
    status, findings = lint_json(
        write_graph(
            BASE
            + """
            [services.proxy]
            command = "proxy"
            requires = ["agnet"]
            """
        )
    )
    assert status == 1
    (finding,) = rules_of(findings, "missing-provider")
    assert finding["service"] == "proxy" and finding["capability"] == "agnet"
    assert finding["profile"] is None
    assert "did you mean 'agent'" in finding["message"]
    assert (finding["line"], finding["column"]) == (9, 13)


def test_missing_provider_names_the_provider_a_profile_disabled(write_graph, lint_json):
    status, findings = lint_json(
        write_graph(
            BASE
            + """
            [services.web]
            command = "web"
            optional = true
            provides = ["web", "keys"]
            requires = ["agent"]
            ready = { tcp = "127.0.0.1:8080" }
            [services.proxy]
            command = "proxy"
            requires = ["agent", "keys"]
            [profiles.cli]
            disable = ["web"]
            """
        )
    )
    assert status == 1
    (finding,) = rules_of(findings, "missing-provider")
    assert finding["profile"] == "cli"
    assert "web is switched off by this profile" in finding["message"]
    assert "side responsibility of web" in finding["message"]


def test_no_missing_provider_when_another_provider_stays_on(write_graph, lint_json):
    status, findings = lint_json(
        write_graph(
            BASE
            + """
            [services.agent2]
            command = "agent2"
            optional = true
            provides = ["agent"]
            ready = { unix = "/tmp/agent2.sock" }
            [services.proxy]
            command = "proxy"
            requires = ["agent"]
            [profiles.cli]
            disable = ["agent2"]
            """
        )
    )
    assert status == 0
    assert not rules_of(findings, "missing-provider")
    assert [f["capability"] for f in rules_of(findings, "multiple-providers")] == ["agent"]


def test_optional_provider(write_graph, lint_json):
    graph = (
        BASE
        + """
    [services.keys]
    command = "load"
    kind = "oneshot"
    optional = OPTIONAL
    provides = ["keys"]
    check = { exec = "load --check" }
    [services.proxy]
    command = "proxy"
    requires = ["keys"]
    """
    )
    status, findings = lint_json(write_graph(graph.replace("OPTIONAL", "true")))
    assert status == 1
    (finding,) = rules_of(findings, "optional-provider")
    assert (finding["service"], finding["capability"]) == ("keys", "keys")
    assert "proxy (not optional) requires it" in finding["message"]

    status, findings = lint_json(write_graph(graph.replace("OPTIONAL", "false"), "fixed.toml"))
    assert status == 0 and not rules_of(findings, "optional-provider")


def test_optional_provider_spares_optional_consumers(write_graph, lint_json):
    status, findings = lint_json(
        write_graph(
            BASE
            + """
            [services.keys]
            command = "load"
            optional = true
            provides = ["keys"]
            ready = { file = "/tmp/keys" }
            [services.viewer]
            command = "viewer"
            optional = true
            requires = ["keys"]
            """
        )
    )
    assert status == 0 and not rules_of(findings, "optional-provider")


def test_offer_unavailable_follows_the_chain_to_the_root_cause(write_graph, lint_json):
    status, findings = lint_json(
        write_graph(
            BASE
            + """
            [services.loader]
            command = "load"
            optional = true
            requires = ["agent"]
            provides = ["keys"]
            ready = { file = "/tmp/keys" }
            [services.proxy]
            command = "proxy"
            optional = true
            requires = ["keys"]
            provides = ["device-ssh"]
            ready = { tcp = "127.0.0.1:2222" }
            [profiles.cli]
            disable = ["loader"]
            offers = ["device-ssh"]
            [profiles.full]
            offers = ["device-ssh"]
            """
        )
    )
    (finding,) = rules_of(findings, "offer-unavailable")
    assert finding["profile"] == "cli" and finding["capability"] == "device-ssh"
    assert "proxy cannot start without keys" in finding["message"]
    assert "keys is provided only by loader, switched off here" in finding["message"]
    assert status == 1


def test_offer_unavailable_when_nothing_provides_it(write_graph, lint_json):
    status, findings = lint_json(write_graph(BASE + '[profiles.p]\noffers = ["web-terminal"]\n'))
    (finding,) = rules_of(findings, "offer-unavailable")
    assert "nothing provides web-terminal" in finding["message"]
    assert status == 1


CYCLE = """
version = 1
[services.a]
command = "a"
requires = ["y"]
provides = ["x"]
ready = { file = "/a" }
[services.b]
command = "b"
requires = ["x"]
provides = ["y"]
ready = { file = "/b" }
"""


def test_cycle_prints_the_full_path(write_graph, lint_json):
    status, findings = lint_json(write_graph(CYCLE))
    assert status == 1
    (finding,) = rules_of(findings, "cycle")
    assert "a -> b -> a" in finding["message"]
    assert "a requires y from b; b requires x from a" in finding["message"]
    assert finding["line"] == 4


def test_no_cycle_when_an_alternative_provider_breaks_the_loop(write_graph, lint_json):
    also_y = '[services.c]\ncommand = "c"\nprovides = ["y"]\nready = { file = "/c" }\n'
    status, findings = lint_json(write_graph(CYCLE + also_y))
    assert status == 0 and not rules_of(findings, "cycle")


def test_self_cycle(write_graph, lint_json):
    _, findings = lint_json(
        write_graph('version = 1\n[services.a]\ncommand = "a"\nrequires = ["x"]\nprovides = ["x"]\n')
    )
    (finding,) = rules_of(findings, "cycle")
    assert "a -> a" in finding["message"]


def test_unknown_service_and_not_optional(write_graph, lint_json):
    status, findings = lint_json(write_graph(BASE + '[profiles.p]\ndisable = ["agnt", "agent"]\n'))
    (unknown,) = rules_of(findings, "unknown-service")
    assert "did you mean 'agent'" in unknown["message"] and unknown["profile"] == "p"
    assert (unknown["line"], unknown["column"]) == (7, 12)
    (not_optional,) = rules_of(findings, "not-optional")
    assert not_optional["service"] == "agent" and not_optional["severity"] == "warning"
    assert status == 1


def test_coupled_provider_names_both_capabilities(write_graph, lint_json):
    graph = """
    version = 1
    [services.web]
    command = "web"
    provides = ["web", "keys"]
    ready = {{ tcp = "127.0.0.1:80" }}
    [services.proxy]
    command = "proxy"
    requires = ["keys"{extra}]
    [profiles.p]
    offers = ["web"]
    """
    status, findings = lint_json(write_graph(graph.format(extra="")))
    (finding,) = rules_of(findings, "coupled-provider")
    assert finding["severity"] == "warning" and finding["service"] == "web"
    assert "web and keys" in finding["message"] and "Give keys a service of its own" in finding["message"]
    assert status == 0
    status, _ = lint_json("--strict", write_graph(graph.format(extra=""), "again.toml"))
    assert status == 1

    # Same consumers for both capabilities: one job, not a hidden side responsibility.
    _, findings = lint_json(
        write_graph(
            graph.format(extra=', "web"')
            .replace('[profiles.p]\noffers = ["web"]', "")
            .replace("offers", "#"),
            "same.toml",
        )
    )
    assert not rules_of(findings, "coupled-provider")


def test_unverified_capability(write_graph, lint_json):
    graph = """
    version = 1
    [services.loader]
    command = "load"
    kind = "oneshot"
    provides = ["keys"]
    {probe}
    [services.daemon]
    command = "daemon"
    provides = ["db"]
    {daemon_probe}
    [services.proxy]
    command = "proxy"
    requires = ["keys", "db"]
    """
    status, findings = lint_json(write_graph(graph.format(probe="", daemon_probe="")))
    unverified = rules_of(findings, "unverified-capability")
    assert {(f["service"], f["capability"]) for f in unverified} == {("loader", "keys"), ("daemon", "db")}
    assert any("add a check probe to loader" in f["message"] for f in unverified)
    assert status == 0

    fixed = graph.format(probe='check = { exec = "load --check" }', daemon_probe="ready = { notify = true }")
    _, findings = lint_json(write_graph(fixed, "fixed.toml"))
    assert not rules_of(findings, "unverified-capability")

    # A ready probe does not prove a oneshot's effect later on.
    oneshot_ready = graph.format(probe='ready = { file = "/k" }', daemon_probe="ready = { notify = true }")
    _, findings = lint_json(write_graph(oneshot_ready, "ready.toml"))
    assert [f["service"] for f in rules_of(findings, "unverified-capability")] == ["loader"]


def test_unused_capability(write_graph, lint_json):
    status, findings = lint_json(write_graph(BASE))
    (finding,) = rules_of(findings, "unused-capability")
    assert finding["severity"] == "info" and finding["capability"] == "agent"
    assert status == 0
    _, findings = lint_json(write_graph(BASE + '[profiles.p]\noffers = ["agent"]\n', "offered.toml"))
    assert not rules_of(findings, "unused-capability")


def test_profile_flag_narrows_to_one_variant(write_graph, lint_json, cli):
    path = write_graph(
        BASE
        + """
        [services.keys]
        command = "keys"
        optional = true
        provides = ["keys"]
        ready = { file = "/k" }
        [services.proxy]
        command = "proxy"
        requires = ["keys"]
        [profiles.a]
        disable = ["keys"]
        [profiles.b]
        """
    )
    _, findings = lint_json(path)
    assert {f["profile"] for f in rules_of(findings, "missing-provider")} == {"a"}
    status, findings = lint_json("--profile", "b", path)
    assert not rules_of(findings, "missing-provider") and not rules_of(findings, "optional-provider")
    assert status == 0
    status, findings = lint_json("--profile", "a", path)
    assert status == 1 and rules_of(findings, "missing-provider")
    status, _, err = cli("lint", "--profile", "c", path)
    assert status == 2 and "no profile 'c'" in err


def _runnable(graph: str) -> str:
    """``graph`` with every one-word command made ``true``, which this machine can run."""
    return re.sub(r'^command = "[\w-]+"$', 'command = "true"', graph, flags=re.MULTILINE)


# One small graph per rule, each producing that rule and nothing more severe, so that the rule's
# severity alone decides lint's exit status. A new rule adds its graph here.
_TRIGGERS = {
    "syntax": "version = 1\n[services.a\n",
    "schema": 'version = 1\n[services.a]\ncomand = "a"\n',
    "unknown-service": BASE + '[profiles.p]\ndisable = ["ghost"]\noffers = ["agent"]\n',
    "missing-provider": BASE + '[services.b]\ncommand = "b"\nrequires = ["agent", "keys"]\n',
    "optional-provider": BASE.replace('command = "agent"', 'command = "agent"\noptional = true')
    + '[services.b]\ncommand = "b"\nrequires = ["agent"]\n',
    "offer-unavailable": BASE + '[profiles.p]\noffers = ["agent", "web"]\n',
    "cycle": 'version = 1\n[services.a]\ncommand = "a"\nrequires = ["x"]\nprovides = ["x"]\n',
    "listen-conflict": BASE + '[services.b]\ncommand = "b"\nlisten = ["tcp:127.0.0.1:80", "tcp:0.0.0.0:80"]\n',
    "coupled-provider": BASE.replace('provides = ["agent"]', 'provides = ["agent", "keys"]')
    + '[services.b]\ncommand = "b"\nrequires = ["keys"]\n[profiles.p]\noffers = ["agent"]\n',
    "unverified-capability": 'version = 1\n[services.a]\ncommand = "a"\nprovides = ["x"]\n'
    '[services.b]\ncommand = "b"\nrequires = ["x"]\n',
    "not-optional": 'version = 1\n[services.a]\ncommand = "a"\n[profiles.p]\ndisable = ["a"]\n',
    "command-not-found": 'version = 1\n[services.a]\ncommand = ["no-such-program-xyz"]\n',
    "multiple-providers": BASE
    + BASE.replace("version = 1", "").replace("services.agent", "services.agent2")
    + '[services.b]\ncommand = "b"\nrequires = ["agent"]\n',
    "unused-capability": BASE,
    "unset-variable": 'version = 1\n[services.a]\ncommand = ["sleep", "${SECONDS_TO_SLEEP}"]\n',
}
TRIGGERS = {rule: _runnable(graph) for rule, graph in _TRIGGERS.items()}


@pytest.mark.parametrize("rule", RULES.values(), ids=lambda r: r.id)
def test_every_registered_rule_fires_on_its_graph(rule, write_graph, lint_json):
    """Each rule in the registry is produced by running lint, on the graph written for it."""
    assert rule.id in TRIGGERS, f"rule {rule.id} has no graph in TRIGGERS that produces it"
    _, findings = lint_json(write_graph(TRIGGERS[rule.id]))
    assert rules_of(findings, rule.id), [f["rule"] for f in findings]


def test_every_graph_in_the_corpus_is_for_a_registered_rule():
    assert list(TRIGGERS) == list(RULES)


_EXIT = {"error": (1, 1), "warning": (0, 1), "info": (0, 0)}  # (lint, lint --strict)
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


@pytest.mark.parametrize("rule", RULES.values(), ids=lambda r: r.id)
def test_a_rules_severity_decides_how_lint_reports_and_exits(rule, write_graph, lint_json, cli):
    path = write_graph(TRIGGERS[rule.id])
    status, findings = lint_json(path)
    severity = rule.severity.value
    assert {f["severity"] for f in rules_of(findings, rule.id)} == {severity}
    order = list(_EXIT)
    assert min(order.index(f["severity"]) for f in findings) == order.index(severity), findings
    assert (status, lint_json("--strict", path)[0]) == _EXIT[severity]
    log = json.loads(cli("lint", "--format", "sarif", path)[1])["runs"][0]
    (listed,) = [r for r in log["tool"]["driver"]["rules"] if r["id"] == rule.id]
    assert listed["defaultConfiguration"]["level"] == _SARIF_LEVEL[severity]
    assert listed["shortDescription"]["text"] == rule.summary and rule.summary.endswith(".")
    assert {r["level"] for r in log["results"] if r["ruleId"] == rule.id} == {_SARIF_LEVEL[severity]}


_CHECKED = {
    Scope.FILE: "the file",
    Scope.GRAPH: "once",
    Scope.VARIANT: "per variant",
    Scope.SERVICE: "per service",
}


def test_the_readme_lists_every_rule_as_registered():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z-]+)` \| (error|warning|info) \| ([a-z ]+) \|", readme, re.MULTILINE)
    assert rows == [(r.id, r.severity.value, _CHECKED[r.scope]) for r in RULES.values()]


def test_a_run_variant_names_what_the_command_line_switched_off(write_graph):
    """``supervisor run --disable`` lints exactly the variant it runs, and says so."""
    from supervisor.check.analysis import selected
    from supervisor.check.lint import lint_plans
    from supervisor.check.plan import Plan
    from supervisor.graph.loader import load_file

    graph = load_file(
        write_graph(
            BASE
            + '[services.proxy]\ncommand = "proxy"\nrequires = ["agent"]\n[profiles.p]\ndisable = ["typo"]\n'
        )
    ).graph
    (finding,) = [
        f
        for f in lint_plans([Plan.compile(graph, selected(graph, None, ["agent"]))])
        if f.rule.id == "missing-provider"
    ]
    assert finding.message.startswith("in the base graph with agent switched off, proxy requires agent")
    assert "keep agent on" in finding.message and finding.profile is None
    # Only the variant that runs is checked: the other profile's typo is not this run's problem.
    plan = Plan.compile(graph, selected(graph))
    assert not [f for f in lint_plans([plan]) if f.severity.value == "error"]


def test_listen_conflict_between_services_that_run_together(write_graph, lint_json):
    graph = """
    version = 1
    [services.a]
    command = "a"
    listen = ["tcp:0.0.0.0:8080", "unix:/run/a.sock"]
    [services.b]
    command = "b"
    listen = ["tcp:127.0.0.1:${PORT:-8080}", "tcp:127.0.0.2:9090"]
    [services.c]
    command = "c"
    listen = ["tcp:127.0.0.1:9090", "unix:/run/a.sock"]
    """
    status, findings = lint_json(write_graph(graph))
    assert status == 1
    conflicts = rules_of(findings, "listen-conflict")
    assert [(f["service"], f["line"], f["column"]) for f in conflicts] == [("b", 7, 11), ("c", 10, 33)]
    assert conflicts[0]["message"] == (
        "b listens on tcp:127.0.0.1:8080, where a listens on tcp:0.0.0.0:8080: only one socket can have "
        "that address. Give one of them another port or path"
    )
    assert "c listens on unix:/run/a.sock, where a listens on unix:/run/a.sock" in conflicts[1]["message"]


UNSET = """
version = 1
[defaults]
environment = { TOKEN = "${TOKEN}" }
[services.a]
command = ["sleep", "${NAP}", "${FIRST:-${SECOND}}", "${GRAPH_DIR}"]
"""


def test_unset_variable_is_info_where_it_is_used(write_graph, lint_json):
    status, findings = lint_json(write_graph(UNSET))
    assert status == 0
    found = [(f["severity"], f["line"], f["column"], f["message"].split(",")[0]) for f in findings]
    assert found == [
        ("info", 3, 17, "a's environment.TOKEN uses ${TOKEN}"),
        ("info", 5, 21, "a's command[1] uses ${NAP}"),
        ("info", 5, 31, "a's command[2] uses ${SECOND}"),
    ]
    assert "or write ${NAP:-default} (lint takes the values a deployment uses with --set NAP=VALUE" in (
        findings[1]["message"]
    )


def test_lint_takes_a_deployments_values(write_graph, lint_json, cli, tmp_path):
    path = write_graph(UNSET)
    env = tmp_path / "prod.env"
    env.write_text("# production\nexport TOKEN='secret value'\nNAP=1\nSECOND=\n")
    assert lint_json("--env-file", str(env), path) == (0, [])
    status, findings = lint_json("--set", "NAP=2", "--set", "TOKEN=t", path)
    assert [f["message"].split(",")[0] for f in findings] == ["a's command[2] uses ${SECOND}"]
    assert lint_json("--set", "FIRST=x", "--set", "NAP=2", "--set", "TOKEN=t", path) == (0, [])
    status, _, err = cli("lint", "--env-file", str(tmp_path / "missing.env"), path)
    assert status == 2 and "--env-file " in err and "missing.env: no such file" in err
    env.write_text("A=1\nnot an assignment\n")
    status, _, err = cli("lint", "--env-file", str(env), path)
    assert status == 2 and "prod.env:2: not NAME=VALUE" in err
    with pytest.raises(SystemExit) as exit:
        cli("lint", "--set", "NOVALUE", path)
    assert exit.value.code == 2


def test_command_not_found_looks_as_the_command_would_run(write_graph, lint_json, tmp_path):
    """The program on the PATH the service runs with, a relative one in its working_dir, and a
    ``python -m`` module as that Python finds it there, without importing (running) anything."""
    app = tmp_path / "app"
    (app / "pkg").mkdir(parents=True)
    (app / "pkg" / "__init__.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w')\n")
    (app / "pkg" / "__main__.py").write_text("")
    (app / "nomain").mkdir()
    (app / "nomain" / "__init__.py").write_text("")
    (app / "serve").write_text("#!/bin/sh\n")
    (app / "serve").chmod(0o755)
    (app / "notexec").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "tool").write_text("#!/bin/sh\n")
    (bin_dir / "tool").chmod(0o755)
    status, findings = lint_json(
        write_graph(f"""
        version = 1
        [defaults]
        working_dir = "{app}"
        [services.relative]
        command = "./serve"
        ready = {{ exec = ["./notexec"] }}
        [services.modules]
        command = ["python3", "-X", "dev", "-m", "pkg"]
        check = {{ exec = ["python3", "-m", "nomain"] }}
        [services.own-path]
        command = ["tool"]
        environment = {{ PATH = "{bin_dir}" }}
        [services.other-path]
        command = ["tool"]
        """)
    )
    assert status == 0
    assert [(f["service"], f["line"], f["message"]) for f in rules_of(findings, "command-not-found")] == [
        (
            "relative",
            6,
            "relative's ready.exec runs ./notexec, but './notexec' is not executable: install it where the "
            "graph runs, or correct ready.exec",
        ),
        (
            "modules",
            9,
            f"modules's check.exec runs python -m nomain, but {shutil.which('python3')} finds no module nomain "
            f"in {app} (not installed for that Python, or not on its sys.path): install it where the graph "
            "runs, or correct check.exec",
        ),
        (
            "other-path",
            14,
            "other-path's command runs tool, but 'tool' is not on PATH: install it where the graph runs, or "
            "correct command",
        ),
    ]
    assert not (tmp_path / "imported").exists()
