"""Time from fault to repair when a consumer reports the fault (issue 11: repair within 1 s).

    .venv/bin/python bench/repair_bench.py [--rounds 8] [--pause 2]

The real stack, ``supervisor run graphs/device-proxy.toml --profile cli-ssh`` as the demo sets
it up (ssh-agent, key-loader, the registry, two proxy workers), plus one unit that requires
ssh-identity-keys and reports it broken when told (``tests/helpers/reporter.py``: what a proxy
worker does when the agent holds no identities). ssh-probe is stopped: it has no canary here.

Each round: ``ssh-add -D`` on the agent (the fault), then at once the report, then what the
supervisor does: the key loader's check (fails), the loss, the re-run, and the check that proves
the keys back (``available``: the repair). Printed per round, in ms after the report was sent,
from the supervisor's event times: report received, check failed, re-run started, keys back.
Rounds are ``--pause`` seconds apart, all within one restart_window (1 min), so they show
whether repeated losses wait a backoff or run out of max_restarts (5). The machine's load is
printed with them: every step is a Python process starting, which a loaded machine slows most.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import load_average  # noqa: E402
from examples.demo.stack import GRAPH, PROFILE, Stack  # noqa: E402
from tests.helpers.net import free_port  # noqa: E402
from tests.helpers.reporter import listening, report, reporter  # noqa: E402
from tests.helpers.supervisor import Supervisor  # noqa: E402

REPORT = "X_CAPABILITY_BROKEN=ssh-identity-keys\nX_REASON=agent holds no identities\n"
STEPS = (("check-requested", 0), ("check-failed", 0), ("started", 1), ("available", 1))
"""Each step's event of key-loader, and how many of them came before the first round."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="repair-bench-") as tmp:
        home = Path(tmp)
        stack = Stack(home / "stack", free_port())
        stack.identity("ed25519")
        stack.fresh_registry()
        graph = GRAPH.read_text() + "\n" + reporter("reporter", "ssh-identity-keys")
        run = Supervisor(home, graph, "--profile", PROFILE, env=stack.env())
        try:
            run.wait_event("key-loader", "available", timeout=60)
            run.wait_event("ssh-proxy@2", "ready", timeout=60)
            listening(run, "reporter")
            assert run.ctl("stop", "ssh-probe").returncode == 0
            pid = run.unit_status("reporter")["pid"]
            agent = {**os.environ, "SSH_AUTH_SOCK": str(run.runtime_dir / "agent.sock")}
            print(f"load average before: {load_average()}")
            print("round  received  check failed  re-run started  keys back")
            repairs = []
            for round_ in range(1, args.rounds + 1):
                subprocess.run(["ssh-add", "-D"], env=agent, check=True, capture_output=True, timeout=10)
                sent = report(run, "reporter", REPORT, pid=pid)
                run.wait_event("key-loader", "available", count=round_ + 1, timeout=30)
                steps = [run.events("key-loader", event)[before + round_ - 1]["epoch"] - sent for event, before in STEPS]
                repairs.append(steps[-1])
                print(f"{round_:>5}  " + "  ".join(f"{ms * 1000:>{width}.0f}ms" for ms, width in zip(steps, (6, 10, 12, 7), strict=True)))
                time.sleep(args.pause)
            print(f"load average after: {load_average()}")
            print(f"report to repair: median {statistics.median(repairs) * 1000:.0f}ms, max {max(repairs) * 1000:.0f}ms")
            failed = run.events("key-loader", "failed")
            print("key-loader failed: " + failed[0]["message"] if failed else "key-loader never failed")
        finally:
            run.stop(60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
