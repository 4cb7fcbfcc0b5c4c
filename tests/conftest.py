"""Shared fixtures: graph files written to a temporary directory, the CLI run in-process, and the
real supervisor run as a subprocess (``tests/helpers/supervisor.py``)."""

import json
import os
import signal

import pytest

from examples.demo.stack import stop_process
from supervisor.cli import main
from tests.helpers.supervisor import Supervisor


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


@pytest.fixture
def supervisor(tmp_path):
    """Factory: ``supervisor(graph, *args, **kwargs)`` runs a :class:`Supervisor`; at teardown every
    run is stopped, and the test fails if any process one of them started is still there."""
    started: list[Supervisor] = []

    def start(graph: str, *args: str, **kwargs) -> Supervisor:
        sup = Supervisor(tmp_path, graph, *args, **kwargs)
        started.append(sup)
        return sup

    yield start
    for sup in started:  # every supervisor first: runs of one graph share a runtime dir
        stop_process(sup.process, 10)  # the test failed half-way: still, leave nothing behind
    leftovers = sorted({pid for sup in started for pid in sup.leftovers()})
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not leftovers, f"processes left behind: {leftovers}"
