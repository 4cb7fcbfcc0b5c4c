"""Shared fixtures: graph files written to a temporary directory, and the CLI run in-process."""

import json
from pathlib import Path

import pytest

from supervisor.cli import main

REPO = Path(__file__).resolve().parent.parent
GRAPHS = REPO / "graphs"


@pytest.fixture
def write_graph(tmp_path):
    """Write TOML to a file, every line stripped of its indentation; return the path."""

    def write(text: str, name: str = "graph.toml") -> str:
        path = tmp_path / name
        path.write_text("\n".join(line.strip() for line in text.strip().splitlines()) + "\n")
        return str(path)

    return write


@pytest.fixture
def cli(capsys):
    """Run ``supervisor ARGS`` in-process; returns (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture
def lint_json(cli):
    """Lint with --format json; returns (exit status, findings)."""

    def run(*args: str) -> tuple[int, list[dict]]:
        status, out, _ = cli("lint", "--format", "json", *args)
        return status, json.loads(out)["findings"]

    return run
