"""The CI examples work as written: the pre-commit hook (installed by pre-commit from this
repository, and its entry run on its own), and the GitHub Actions workflow's commands, on a
machine that has none of the graph's programs, as a CI runner has not."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import supervisor
from examples.demo.stack import GRAPHS, ROOT
from supervisor.cli import build_parser

BIN = Path(sys.executable).parent
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
CONFIG = yaml.safe_load((ROOT / "examples" / "ci" / ".pre-commit-config.yaml").read_text())
WORKFLOW = yaml.safe_load((ROOT / "examples" / "ci" / "graph-checks.yml").read_text())


def _bare_machine(tmp_path: Path) -> dict:
    """An environment whose PATH has `supervisor` and nothing else: none of the graph's programs."""
    only = tmp_path / "bin"
    only.mkdir()
    (only / "supervisor").symlink_to(BIN / "supervisor")
    return {**os.environ, "PATH": str(only)}


def _steps() -> list[str]:
    return [step["run"] for job in WORKFLOW["jobs"].values() for step in job["steps"] if "run" in step]


def test_one_repository_and_release_everywhere():
    """The hook's repository and rev, the workflow's installs and the package's URL agree, on the
    tag of the version the package declares."""
    source = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Source"]
    (repo,) = CONFIG["repos"]
    assert repo["repo"] == source and repo["rev"] == f"v{supervisor.__version__}"
    installs = [line for run in _steps() for line in run.splitlines() if "pip install" in line]
    assert installs and all(f"git+{source}@{repo['rev']}" in line for line in installs)
    assert f"#   - repo: {source}\n#     rev: {repo['rev']}" in (ROOT / ".pre-commit-hooks.yaml").read_text()


def test_the_hooks_entry_lints_the_graph_files_it_matches(tmp_path):
    (hook,) = HOOKS
    assert re.search(hook["files"], "graphs/device-proxy.toml") and not re.search(hook["files"], "README.md")
    entry = shlex.split(hook["entry"])
    env = _bare_machine(tmp_path)
    good = subprocess.run([*entry, GRAPHS / "device-proxy.toml"], env=env, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = subprocess.run(
        [*entry, GRAPHS / "incident-2026-02-26.toml"], env=env, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1 and "error missing-provider (profile cli-ssh)" in bad.stdout


def test_pre_commit_installs_the_hook_from_the_repository_and_runs_it(tmp_path):
    """What a repository using the hook gets: pre-commit installs this repository (its core
    dependencies from the index) into an environment of its own and runs the hook on graphs/."""
    work = tmp_path / "work"
    (work / "graphs").mkdir(parents=True)
    shutil.copy(GRAPHS / "device-proxy.toml", work / "graphs")
    subprocess.run(["git", "init", "-q"], cwd=work, check=True, timeout=60)
    subprocess.run(["git", "add", "."], cwd=work, check=True, timeout=60)
    done = subprocess.run(
        [BIN / "pre-commit", "try-repo", ROOT, HOOKS[0]["id"], "--all-files"],
        cwd=work,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"^supervisor lint\.+Passed$", done.stdout, re.MULTILINE)


def test_the_workflows_supervisor_commands_run_on_a_bare_runner(tmp_path):
    commands = [
        line.strip()
        for run in _steps()
        for line in run.splitlines()
        if re.match(r"\s*supervisor ", line)
    ]
    assert len(commands) == 4  # lint, lint's SARIF, lint per profile, diff
    work = tmp_path / "work"
    (work / "graphs").mkdir(parents=True)
    shutil.copy(GRAPHS / "device-proxy.toml", work / "graphs")
    env = _bare_machine(tmp_path)
    for command in commands:
        command = re.sub(r"\$\{\{ *matrix\.profile *\}\}", "cli-ssh", command)  # one of the matrix's
        argv = shlex.split(re.sub(r"\$\{\{[^}]*\}\}", "main", command.split(" > ")[0].split(" || ")[0]))
        build_parser(argv[1:]).parse_args(argv[1:])  # every flag it uses exists
        if argv[1] == "lint":
            argv = [a for a in argv if a != "graphs/*.toml"] + ["graphs/device-proxy.toml"]
            done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stdout + done.stderr
