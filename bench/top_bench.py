"""What watching costs: ``supervisor top`` on 200 services, and the supervisor with 5 watchers.

    .venv/bin/python bench/top_bench.py [--services 200] [--seconds 20]

One supervisor runs ``--services`` ``sleep`` longruns; a driver makes one state change a second
(it stops ``s0``, and a second later starts it again, through the control socket). Measured from
/proc (user + system CPU time over ``--seconds``, as % of one core), the load average printed
with each:

0. ``supervisor status --ready`` (a health probe): its wall time, median of 21 runs;
1. the supervisor alone, with the driver: the baseline;
2. the same with 5 watchers attached (``watch`` connections reading status and events): the
   supervisor's rise over the baseline is what watchers cost it (target: under 1% of a core);
3. ``supervisor top`` in a real terminal (tmux, 160x50) watching it, with the driver: top's own
   CPU (target: under 2% of a core), with its CPU/memory sampling every 2 s (the default) and
   with ``--interval 0`` (nothing but the pushed changes);
4. the same two with nothing changing (no driver): push, not poll, so ~0 for ``--interval 0``.

process-compose's TUI would be the comparison; this bench says whether it is installed (it is
a Go binary: Debian bookworm has no package, and it is on neither PyPI nor npm).
"""

import argparse
import json
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: bench.measure is imported as the other benches do

from bench.measure import cpu_seconds, load_average, percentile  # noqa: E402
from bench.runtime_bench import Ours  # noqa: E402
from supervisor.runtime.client import request  # noqa: E402

WATCHERS = 5


def cpu_percent(pid: int, seconds: float) -> float:
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds * 100


class Driver:
    """One state change a second: s0 stopped, then started, then stopped …"""

    def __init__(self, control: str):
        self.control = control
        self.running = threading.Event()
        self.changes = 0
        self.command = "stop"

    def start(self) -> None:
        self.running.set()
        threading.Thread(target=self._run, daemon=True).start()

    def stop(self) -> None:
        self.running.clear()
        time.sleep(1.2)  # the last change settles

    def _run(self) -> None:
        while self.running.is_set():
            started = time.monotonic()
            request(self.control, {"command": self.command, "target": "s0"}, 30)
            self.changes += 1
            self.command = "start" if self.command == "stop" else "stop"
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def watcher(control: str, counts: list[int], index: int) -> socket.socket:
    """A watch connection whose updates a thread reads (and counts) as they come."""
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(control)
    sock.sendall(json.dumps({"command": "watch"}).encode() + b"\n")

    def read() -> None:
        with sock.makefile("rb") as lines:
            for _ in lines:
                counts[index] += 1

    threading.Thread(target=read, daemon=True).start()
    return sock


def process_compose() -> str:
    found = shutil.which("process-compose")
    if found:
        return f"installed at {found}, but this bench does not drive it yet"
    policy = subprocess.run(["apt-cache", "policy", "process-compose"], capture_output=True, text=True).stdout
    debian = "Debian has no process-compose package" if not policy.strip() else f"apt: {policy.split()}"
    return f"not installed, so not compared: {debian} (bookworm), and it is on neither PyPI nor npm"


def top_in_tmux(tmp: Path, control: str, interval: float) -> tuple[str, int]:
    """``supervisor top`` in a detached tmux session at 160x50; (its tmux socket, its pid)."""
    tmux = str(tmp / f"tmux-{interval:g}.sock")
    top = [sys.executable, "-m", "supervisor", "top", "--control", control, "--interval", f"{interval:g}"]
    command = shlex.join(["env", "-u", "COLUMNS", "-u", "LINES", *top])  # the pane's real size
    subprocess.run(
        [
            "tmux",
            "-S",
            tmux,
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "160",
            "-y",
            "50",
            "-c",
            str(ROOT),
            command,
        ],
        check=True,
    )
    pid = int(
        subprocess.run(
            ["tmux", "-S", tmux, "display", "-p", "-t", "top", "#{pane_pid}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        screen = subprocess.run(
            ["tmux", "-S", tmux, "capture-pane", "-p", "-t", "top"], capture_output=True, text=True
        ).stdout
        if " s199 " in screen or "ready" in screen:
            break
        time.sleep(0.2)
    time.sleep(3)  # start-up work done
    return tmux, pid


def row(what: str, value: float, target: str = "", unit: str = "%") -> None:
    print(f"{what:46} {value:6.2f}{unit:3} {target:13} load average {load_average()}", flush=True)


def median_ms(command: list[str], runs: int = 21) -> float:
    """Median wall time of ``command``, start to exit, in ms."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True)
        times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    seconds = args.seconds
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        ours = Ours(tmp, args.services)  # the runtime bench's graph: N sleep longruns
        supervisor = ours.start()
        control = str(tmp / "rt" / "control.sock")
        try:
            ours.wait_ready(120)
            time.sleep(2)
            print(f"{args.services} services ready; CPU over {seconds:g} s, as % of one core", flush=True)
            row("supervisor, nothing changing, no watcher", cpu_percent(supervisor.pid, seconds))
            ready = [sys.executable, "-m", "supervisor", "status", "--ready", "--control", control]
            row("status --ready, median of 21 runs", median_ms(ready), "target < 100", " ms")
            row("  python -c pass, for scale", median_ms([sys.executable, "-c", "pass"]), "", " ms")
            driver = Driver(control)
            driver.start()
            time.sleep(2)
            baseline = cpu_percent(supervisor.pid, seconds)
            row("supervisor, 1 change/s, no watcher", baseline)
            counts = [0] * WATCHERS
            sockets = [watcher(control, counts, i) for i in range(WATCHERS)]
            time.sleep(2)
            with_watchers = cpu_percent(supervisor.pid, seconds)
            row(f"supervisor, 1 change/s, {WATCHERS} watchers", with_watchers)
            row(f"  rise with {WATCHERS} watchers", with_watchers - baseline, "target < 1%")
            print(f"  the watchers read {sum(counts)} updates", flush=True)
            for sock in sockets:
                sock.close()
            for interval in (2.0, 0.0):
                tmux, pid = top_in_tmux(tmp, control, interval)
                try:
                    row(f"top --interval {interval:g}, 1 change/s", cpu_percent(pid, seconds), "target < 2%")
                    driver.stop()
                    row(f"top --interval {interval:g}, nothing changing", cpu_percent(pid, seconds))
                    driver.start()
                finally:
                    subprocess.run(["tmux", "-S", tmux, "kill-server"], capture_output=True)
            driver.stop()
            print(f"driver: {driver.changes} state changes", flush=True)
        finally:
            supervisor.terminate()
            supervisor.wait(60)
    print(f"process-compose: {process_compose()}")


if __name__ == "__main__":
    main()
