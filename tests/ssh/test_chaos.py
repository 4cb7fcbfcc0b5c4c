"""The chaos bench's short run (``bench/chaos.py``): 10 s of sessions, one of each fault.

Its targets on behaviour, not on time (figures belong to the bench): no session fails through
a key wipe, a rolling restart or a reload; every fault is repaired; the long sessions survive
everything but the SIGKILL of the worker that carries them.
"""

import json
import subprocess
import sys

from bench.chaos import FAULTS, NO_FAILURES
from examples.demo.stack import ROOT


def test_one_of_each_fault_under_load(tmp_path):
    found = tmp_path / "chaos.json"
    run = subprocess.run(
        [sys.executable, "bench/chaos.py", "--seconds", "12", "--every", "2", "--rate", "5", "--long", "3"]
        + ["--json", str(found)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = {row["fault"]: row for row in json.loads(found.read_text())}
    assert list(rows) == list(FAULTS)
    for name, row in rows.items():
        assert row["repaired"] is not None, f"{name} not repaired: {row}"
        assert row["started"] >= 1, f"no session started in the window of {name}: {row}"
        if name in NO_FAILURES:
            assert row["failed"] == 0, f"sessions failed through {name}: {row['lines']}"
        if name == "worker-kill":
            assert row["long_lost"] == row["long_carried"], row
        else:
            assert row["long_lost"] == 0, f"long sessions lost through {name}: {row}"
