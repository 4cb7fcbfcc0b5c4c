"""The package as pip installs it: the core alone (no Twisted, no cryptography) lints graphs, and
supervisord's `supervisor` package, which has the same import name, is named in one line with
the fix instead of an ImportError.

A fresh virtualenv gets this checkout (``pip install --no-deps``) and exactly the core
dependencies pyproject.toml declares, from the index pip is configured with.
"""

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from examples.demo.stack import ROOT

PIP_TIMEOUT = 300


def _run(argv: list, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("timeout", PIP_TIMEOUT)
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kwargs)


def _ok(argv: list, **kwargs) -> subprocess.CompletedProcess:
    done = _run(argv, **kwargs)
    assert done.returncode == 0, f"{argv}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def core(tmp_path_factory) -> Path:
    """A virtualenv with this checkout and its core dependencies only: its bin directory (the
    checkout it was installed from is ../../source)."""
    root = tmp_path_factory.mktemp("core")
    source = root / "source"
    files = _ok(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    _ok([sys.executable, "-m", "venv", root / "venv"])
    python = root / "venv" / "bin" / "python"
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _ok([*pip, "--no-deps", source])
    _ok([*pip, *tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]])
    return root / "venv" / "bin"


def _env(bin_dir: Path, **extra: str) -> dict:
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **extra}


@pytest.mark.timeout(900)
def test_the_core_install_lints_without_twisted(core, tmp_path):
    assert "ModuleNotFoundError: No module named 'twisted'" in _run([core / "python", "-c", "import twisted"]).stderr
    linted = _run(
        [core / "supervisor", "lint", "--strict", "--format", "json", ROOT / "graphs" / "device-proxy.toml"],
        cwd=tmp_path,
        env=_env(core),
        timeout=60,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert json.loads(linted.stdout)["summary"]["errors"] == 0
    installed = _ok(
        [
            core / "python",
            "-c",
            "import pathlib, supervisor; from importlib import metadata; "
            "print(metadata.version('graph-supervisor'), supervisor.__version__, "
            "(pathlib.Path(supervisor.__file__).parent / 'py.typed').exists(), "
            "metadata.metadata('graph-supervisor').get_all('Project-URL'))",
        ],
        cwd=tmp_path,
    ).stdout
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in version["project"]["dynamic"]
    number = _ok([core / "supervisor", "--version"], cwd=tmp_path).stdout.split()[-1]
    assert installed.startswith(f"{number} {number} True [") and "Source, https://github.com/" in installed


@pytest.mark.timeout(900)
def test_supervisord_in_the_same_environment_is_named_with_the_fix(core, tmp_path):
    """Hidden (earlier on sys.path) or installed over it: one line, exit 2, no traceback; the fix
    the line gives puts things right."""
    graph = ROOT / "graphs" / "device-proxy.toml"
    pip = [core / "python", "-m", "pip", "--disable-pip-version-check"]
    _ok([*pip, "install", "--quiet", "--target", tmp_path / "supervisord", "supervisor"])
    hidden = _run([core / "supervisor", "lint", graph], env=_env(core, PYTHONPATH=str(tmp_path / "supervisord")))
    _ok([*pip, "install", "--quiet", "supervisor"])
    replaced = _run([core / "supervisor", "lint", graph], cwd=tmp_path, env=_env(core), timeout=60)
    as_module = _run([core / "python", "-m", "supervisor", "lint", graph], cwd=tmp_path, env=_env(core))
    for done in (hidden, replaced, as_module):
        assert done.returncode == 2 and done.stdout == ""
        (line,) = done.stderr.splitlines()
        assert line.startswith("graph-supervisor: the `supervisor` package at ")
        assert "supervisord (PyPI's `supervisor`) uses the same import name" in line
        assert line.endswith(
            "Fix: pip uninstall supervisor, then pip install --force-reinstall graph-supervisor; "
            "keep supervisord in an environment of its own"
        )
    _ok([*pip, "uninstall", "--yes", "--quiet", "supervisor"])
    _ok([*pip, "install", "--quiet", "--force-reinstall", "--no-deps", core.parent.parent / "source"])
    assert _run([core / "supervisor", "lint", graph], cwd=tmp_path, env=_env(core), timeout=60).returncode == 0
