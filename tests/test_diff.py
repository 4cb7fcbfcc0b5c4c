"""``supervisor diff``: what a change to a graph breaks, per variant, from files or from git."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from supervisor.cli import main

FIXED = Path("graphs/device-proxy.toml")


def reintroduce_incident(text: str) -> str:
    """The fixed graph with key-loader removed and its keys loaded by web-terminal again."""
    start = text.index("[services.key-loader]")
    end = text.index("[services.registry]")
    text = text[:start] + text[end:]
    return text.replace('provides = ["web-terminal"]', 'provides = ["web-terminal", "ssh-identity-keys"]')


@pytest.fixture
def broken(tmp_path) -> Path:
    path = tmp_path / "device-proxy.toml"
    path.write_text(reintroduce_incident(FIXED.read_text()))
    return path


def run_diff(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["diff", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_reintroducing_the_incident_breaks_device_ssh_in_cli_ssh(capsys, broken):
    status, out, _ = run_diff(capsys, str(FIXED), str(broken), "--format", "json")
    assert status == 1
    report = json.loads(out)
    assert report["breaking"] is True
    found = {
        (c["kind"], c["profile"], c["service"], c["capability"]) for c in report["changes"] if c["breaking"]
    }
    assert ("provider-lost", "cli-ssh", "ssh-proxy", "ssh-identity-keys") in found
    assert ("offer-lost", "cli-ssh", None, "device-ssh") in found
    assert ("stops-starting", "cli-ssh", "ssh-proxy", None) in found
    removed = [c for c in report["changes"] if c["kind"] == "service-removed" and c["profile"] is None]
    assert [c["service"] for c in removed] == ["key-loader"]


def test_text_names_the_loss(capsys, broken):
    status, out, _ = run_diff(capsys, str(FIXED), str(broken))
    assert status == 1
    assert "in profile cli-ssh, ssh-proxy loses its last provider of ssh-identity-keys" in out
    assert "profile cli-ssh can no longer deliver device-ssh" in out
    assert "breaking change(s)" in out


def test_text_shows_file_names_as_written(capsys, tmp_path, broken):
    """The text's file names are printed as they are: not markup, escapes or emoji codes (a name
    ending in a backslash printed two, and ``:smile:`` an emoji)."""
    new = tmp_path / "new[bold]:smile:\\"
    new.write_text(broken.read_text())
    status, out, _ = run_diff(capsys, str(FIXED), str(new))
    assert status == 1
    assert out.splitlines()[0] == f"{FIXED} → {new}"


def test_github_annotations_point_into_the_new_file(capsys, broken):
    status, out, _ = run_diff(capsys, str(FIXED), str(broken), "--format", "github")
    assert status == 1
    lines = out.splitlines()
    requires_line = next(
        n
        for n, text in enumerate(broken.read_text().splitlines(), 1)
        if text.startswith('requires = ["ssh-agent", ')
    )
    file = str(broken).replace(":", "%3A").replace(",", "%2C")
    assert (
        f"::error file={file},line={requires_line},col=26,title=provider-lost (profile cli-ssh)::"
        "in profile cli-ssh, ssh-proxy loses its last provider of ssh-identity-keys: "
        "its provider web-terminal is switched off there" in lines
    )
    assert any(line.startswith("::error") and "offer-lost (profile cli-ssh)" in line for line in lines)


def test_a_description_edit_is_harmless(capsys, tmp_path):
    edited = tmp_path / "edited.toml"
    edited.write_text(FIXED.read_text().replace("Browser terminal", "A browser terminal"))
    status, out, _ = run_diff(capsys, str(FIXED), str(edited))
    assert status == 0
    assert "no breaking changes" in out
    assert json.loads(run_diff(capsys, str(FIXED), str(edited), "--format", "json")[1])["changes"] == []


def test_fixing_the_incident_is_not_breaking(capsys):
    status, out, _ = run_diff(capsys, "graphs/incident-2026-02-26.toml", str(FIXED), "--format", "json")
    assert status == 0
    kinds = {(c["kind"], c["profile"]) for c in json.loads(out)["changes"]}
    assert ("provider-restored", "cli-ssh") in kinds and ("offer-restored", "cli-ssh") in kinds


def test_unloadable_version_exits_1_with_findings(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("version = 1\n[services.a\n")
    status, out, _ = run_diff(capsys, str(FIXED), str(bad), "--format", "json")
    assert status == 1
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["syntax"]


def test_missing_file_is_a_usage_error(capsys):
    status, _, err = run_diff(capsys, str(FIXED), "graphs/none.toml")
    assert status == 2 and "graphs/none.toml: no such file" in err


def git(repo: Path, *argv: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *argv],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_revisions_read_through_git(capsys, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "graph.toml").write_text(FIXED.read_text())
    git(repo, "add", "graph.toml")
    git(repo, "commit", "-qm", "fixed")
    (repo / "graph.toml").write_text(reintroduce_incident(FIXED.read_text()))
    monkeypatch.chdir(repo)

    status, out, _ = run_diff(capsys, "HEAD:graph.toml", "graph.toml", "--format", "json")
    assert status == 1
    assert json.loads(out)["old"] == "HEAD:graph.toml"

    git(repo, "commit", "-qam", "broken")
    status, out, _ = run_diff(capsys, "HEAD~1:graph.toml", "HEAD:graph.toml", "--format", "github")
    assert status == 1
    assert "::error file=graph.toml,line=" in out  # the path in the repository, not REV:PATH

    status, out, err = run_diff(capsys, "HEAD~5:graph.toml", "graph.toml")
    assert status == 2 and out == ""
    assert "HEAD~5:graph.toml" in err and "Traceback" not in err
    status, _, err = run_diff(capsys, "HEAD:nope.toml", "graph.toml")
    assert status == 2 and "nope.toml" in err


def test_end_to_end_through_the_installed_command(broken):
    result = subprocess.run(
        [str(Path(sys.executable).with_name("supervisor")), "diff", str(FIXED), str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "ssh-proxy loses its last provider of ssh-identity-keys" in result.stdout


def test_a_changed_setting_is_a_change_that_breaks_nothing(capsys, tmp_path):
    edited = tmp_path / "edited.toml"
    edited.write_text(FIXED.read_text().replace("ssh-agent -D -a", "ssh-agent -D -t 3600 -a"))
    status, out, _ = run_diff(capsys, str(FIXED), str(edited), "--format", "json")
    assert status == 0
    changed = [c for c in json.loads(out)["changes"] if c["kind"] == "service-changed"]
    assert {c["profile"] for c in changed} == {None, *tomllib.loads(FIXED.read_text())["profiles"]}
    assert {(c["service"], c["message"].split(": ")[-1], c["breaking"]) for c in changed} == {
        ("ssh-agent", "command", False)
    }
