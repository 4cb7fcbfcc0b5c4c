"""What each command loads: ``run`` (PID 1 in a container) never loads ``top``'s Textual or psutil,
and ``status --ready`` (a health probe run every few seconds) not even rich or attrs."""

import subprocess

from examples.demo.stack import ROOT
from tests.helpers.supervisor import PY


def imported(*args: str) -> set[str]:
    """The top-level packages ``supervisor ARGS`` imports (``python -X importtime``)."""
    result = subprocess.run(
        [PY, "-X", "importtime", "-m", "supervisor", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [line.split("|")[-1] for line in result.stderr.splitlines() if line.startswith("import time:")]
    return {line.strip().split(".")[0] for line in lines}


def test_run_loads_neither_textual_nor_psutil(tmp_path):
    modules = imported("run", str(tmp_path / "absent.toml"))
    assert "trio" in modules and not {"textual", "psutil"} & modules


def test_a_health_probe_loads_neither_rich_nor_attrs(supervisor):
    sup = supervisor("""
    version = 1
    [services.s]
    command = ["sleep", "60"]
    """)
    sup.wait_event("s", "ready")
    modules = imported("status", "--ready", "--control", sup.control)
    assert "supervisor" in modules and not {"attrs", "attr", "rich", "textual", "psutil", "trio"} & modules
    assert sup.stop() == 0
