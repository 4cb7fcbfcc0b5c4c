"""``supervisor reload`` and SIGHUP: a new version of the running graph, linted as ``run`` lints it
and applied service by service, the untouched ones keeping their processes."""

import json
import signal
import textwrap

from examples.demo.stack import wait_until
from tests.helpers.reporter import listening, reporter

BEFORE = """
version = 1
[services.base]
command = ["sleep", "60"]
provides = ["b"]
[services.kept]
command = ["sleep", "60"]
requires = ["b"]
[services.changed]
command = ["sleep", "60"]
requires = ["b"]
replicas = 2
[services.gone]
command = ["sleep", "60"]
"""

AFTER = """
version = 1
[services.base]
command = ["sleep", "60"]
provides = ["b"]
description = "only described now: nothing a unit runs by"
[services.kept]
command = ["sleep", "60"]
requires = ["b"]
[services.changed]
command = ["sleep", "61"]
requires = ["b"]
replicas = 2
[services.new]
command = ["sleep", "60"]
requires = ["b"]
"""


def _pids(sup) -> dict[str, int]:
    return {u["unit"]: u["pid"] for u in sup.status()["services"]}


def _ready(sup, *units: str) -> None:
    for unit in units:
        sup.wait_event(unit, "ready")


def test_reload_starts_added_stops_removed_restarts_changed_and_leaves_the_rest(supervisor, tmp_path):
    sup = supervisor(BEFORE)
    _ready(sup, "base", "kept", "changed@1", "changed@2", "gone")
    before = _pids(sup)
    new = tmp_path / "after.toml"
    new.write_text(textwrap.dedent(AFTER))

    result = sup.ctl("reload", str(new), timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    done = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert done["gone"] == "removed"
    assert done["base"] == "unchanged" and done["kept"] == "unchanged"
    assert done["new"] == "added"
    assert done["changed"].startswith(
        "restarted (changed changed in the base graph: command; changed@1: restarted"
    )
    after = _pids(sup)
    assert sorted(after) == ["base", "changed@1", "changed@2", "kept", "new"]
    assert after["base"] == before["base"] and after["kept"] == before["kept"]
    assert after["changed@1"] != before["changed@1"] and after["changed@2"] != before["changed@2"]
    sup.wait_event("new", "ready")
    assert sup.wait_event("gone", "stopped")
    assert sup.status()["file"] == str(new)
    assert any("sleep 61" in e["message"] for e in sup.events("changed@2", "starting"))
    assert sup.stop() == 0


def test_a_reload_of_a_graph_with_errors_is_refused_and_changes_nothing(supervisor, tmp_path):
    sup = supervisor(BEFORE)
    _ready(sup, "base", "kept", "changed@1", "changed@2", "gone")
    before = _pids(sup)
    broken = tmp_path / "broken.toml"
    broken.write_text(textwrap.dedent(AFTER).replace('provides = ["b"]', 'provides = ["c"]'))

    result = sup.ctl("reload", str(broken))

    assert result.returncode == 1
    assert "missing-provider" in result.stderr and f"{broken}:" in result.stderr
    assert result.stderr.strip().endswith("error(s): nothing changed")
    assert _pids(sup) == before
    assert sup.status()["file"] == str(sup.graph)
    assert sup.stop() == 0


def test_sighup_reloads_the_file_the_supervisor_runs(supervisor, tmp_path):
    sup = supervisor(BEFORE)
    _ready(sup, "base", "kept", "changed@1", "changed@2", "gone")
    before = _pids(sup)
    sup.graph.write_text(textwrap.dedent(AFTER))

    sup.signal(signal.SIGHUP)

    reloaded = sup.wait_event("supervisor", "reloaded", timeout=30)
    assert "1 removed" in reloaded["message"] and "1 restarted" in reloaded["message"]
    assert "1 added" in reloaded["message"] and "2 unchanged" in reloaded["message"]
    assert any(e["message"] == "new added" for e in sup.events("supervisor", "reload"))
    sup.wait_event("new", "ready")
    after = wait_until(lambda: _pids(sup) if "gone" not in _pids(sup) else None, 10, "gone removed")
    assert after["kept"] == before["kept"] and after["changed@1"] != before["changed@1"]
    assert sup.stop() == 0


def test_a_report_for_what_a_reload_removed_is_ignored_and_the_reload_goes_on(supervisor, tmp_path):
    """The old version of a changed service still requires what a removed service provided, and
    says so while it is being restarted: its stop signal makes this one report ``x`` broken. There
    is no provider left to check: the report is ignored with the reason, not the supervisor's end."""
    (provider, user) = (
        '[services.old]\ncommand = ["sleep", "60"]\nprovides = ["x"]\n',
        reporter("user", "x") + 'stop_signal = "SIGUSR1"\nstop_timeout = "2s"\n',
    )
    sup = supervisor("version = 1\n" + provider + user)
    listening(sup, "user")
    (sup.runtime_dir / "report.json").write_text(
        json.dumps({"datagram": "X_CAPABILITY_BROKEN=x\nX_REASON=its provider is gone", "count": 3})
    )
    new = tmp_path / "after.toml"
    new.write_text("version = 1\n" + reporter("user"))  # needs nothing now; stops on SIGTERM

    result = sup.ctl("reload", str(new), timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    assert dict(line.split(": ", 1)[:2] for line in result.stdout.splitlines())["old"] == "removed"
    ignored = sup.wait_event("user", "report-ignored")
    assert "x cannot be checked now: a reload removed what provided it" in ignored["message"]
    sup.wait_event("user", "ready", count=2)
    assert sup.process.poll() is None and sup.events("supervisor", "error") == []
    assert sup.stop() == 0  # the SIGKILL of the old version was a restart's, not the shutdown's
