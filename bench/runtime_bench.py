"""Runtime benchmark: graph-supervisor against supervisord on 200 ``sleep`` longruns.

    .venv/bin/python bench/runtime_bench.py [--services 200] [--restarts 15] [--idle 10]

Four figures, side by side, on the same programs:

1. start: from launch until every service is ready (ours: each has stayed up for the settle
   time, which is what ``ready`` means for a probe-less longrun) or RUNNING (supervisord, with
   ``startsecs=0`` so it says RUNNING as soon as it has spawned; with its default of 1 s it could
   not be faster than 1 s). Also: until all 200 processes exist, for both.
2. idle: the supervisor's CPU use over ``--idle`` seconds with everything up, and its RSS at the
   end of that time.
3. restart latency: SIGKILL one child, time until its replacement exists (median of N).
4. stop all: SIGTERM to the supervisor until it and every child are gone.

supervisord (PyPI ``supervisor``) goes into its own venv, ``bench/.venv-supervisord``, created
here on first use: its import name is ``supervisor``, the same as ours.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the harness is imported as the tests do

from bench.measure import cpu_seconds  # noqa: E402
from examples.demo.stack import wait_until  # noqa: E402

SUPERVISORD_VENV = ROOT / "bench" / ".venv-supervisord"
SUPERVISORD_VERSION = "4.3.0"
PAGE = os.sysconf("SC_PAGE_SIZE")


def children(pid: int) -> set[int]:
    """Live (non-zombie) children of ``pid``."""
    return {child for child in _pids() if _parent_and_state(child) in ((pid, "S"), (pid, "R"), (pid, "D"))}


def new_child(pid: int, known: set[int]) -> int | None:
    """A child of ``pid`` that is not in ``known``: only new entries of /proc are read, so this is
    cheap enough to poll every half millisecond and the latency is not lost in the measuring."""
    for child in _pids() - known:
        if _parent_and_state(child)[0] == pid:
            return child
    return None


def _pids() -> set[int]:
    return {int(name) for name in os.listdir("/proc") if name.isdigit()}


def _parent_and_state(pid: int) -> tuple[int, str]:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return (0, "")
    return int(fields[1]), fields[0]


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20




class Ours:
    name = "graph-supervisor"

    def __init__(self, tmp: Path, count: int):
        graph = tmp / "ours.toml"
        lines = ["version = 1", 'name = "bench"']
        for i in range(count):
            lines += [f"[services.s{i}]", 'command = ["sleep", "3600"]']
        graph.write_text("\n".join(lines) + "\n")
        self.command = [
            sys.executable,
            "-m",
            "supervisor",
            "run",
            str(graph),
            "--runtime-dir",
            str(tmp / "rt"),
            "--log-format",
            "json",
        ]
        self.count = count
        self.ready = 0
        self.all_ready = threading.Event()

    def start(self) -> subprocess.Popen:
        self.process = subprocess.Popen(self.command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        return self.process

    def _read(self) -> None:
        for line in self.process.stdout:
            if '"event": "ready"' in line and json.loads(line)["event"] == "ready":
                self.ready += 1
                if self.ready == self.count:
                    self.all_ready.set()

    def wait_ready(self, timeout: float) -> None:
        if not self.all_ready.wait(timeout):
            raise TimeoutError("not all ready")


class Supervisord:
    name = "supervisord"

    def __init__(self, tmp: Path, count: int):
        python = ensure_supervisord()
        self.bin = python.parent
        self.conf = tmp / "supervisord.conf"
        sections = [
            "[unix_http_server]",
            f"file={tmp}/supervisor.sock",
            "[supervisord]",
            "nodaemon=true",
            f"logfile={tmp}/supervisord.log",
            f"pidfile={tmp}/supervisord.pid",
            "loglevel=warn",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
            "[supervisorctl]",
            f"serverurl=unix://{tmp}/supervisor.sock",
        ]
        for i in range(count):
            sections += [
                f"[program:s{i}]",
                "command=sleep 3600",
                "startsecs=0",
                "autorestart=true",
                "stopsignal=TERM",
                "stdout_logfile=NONE",
                "stderr_logfile=NONE",
            ]
        self.conf.write_text("\n".join(sections) + "\n")
        self.count = count

    def start(self) -> subprocess.Popen:
        self.process = subprocess.Popen(
            [str(self.bin / "supervisord"), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self.process

    def wait_ready(self, timeout: float) -> None:
        def all_running():
            out = subprocess.run(
                [str(self.bin / "supervisorctl"), "-c", str(self.conf), "status"],
                capture_output=True,
                text=True,
            ).stdout
            return out.count(" RUNNING ") == self.count

        wait_until(all_running, timeout, "every program RUNNING", poll=0.05)


def ensure_supervisord() -> Path:
    python = SUPERVISORD_VENV / "bin" / "python"
    if not (SUPERVISORD_VENV / "bin" / "supervisord").exists():
        venv.create(SUPERVISORD_VENV, with_pip=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"supervisor=={SUPERVISORD_VERSION}"], check=True
        )
    return python


def measure(tool, count: int, restarts: int, idle: float) -> dict:
    started = time.monotonic()
    process = tool.start()
    # polled lightly: the supervisor shares the CPUs
    wait_until(lambda: len(children(process.pid)) >= count, 60, "every child", poll=0.02)
    spawned = time.monotonic() - started
    tool.wait_ready(60)
    ready = time.monotonic() - started
    time.sleep(1.0)  # let start-up work settle before measuring idle use
    cpu_before = cpu_seconds(process.pid)
    time.sleep(idle)
    cpu = (cpu_seconds(process.pid) - cpu_before) / idle * 100
    rss = rss_mb(process.pid)  # at the end of the idle time: what it holds while it just watches
    latencies = []
    for _ in range(restarts):
        before = _pids()
        victim = min(children(process.pid))
        kill_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda before=before: new_child(process.pid, before), 10, "the replacement", poll=0.0005)
        latencies.append(time.monotonic() - kill_at)
        time.sleep(0.3)
    survivors = children(process.pid)
    stop_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(60)
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in survivors), 30, "every child gone")
    stop = time.monotonic() - stop_at
    return {
        "spawned": spawned,
        "ready": ready,
        "rss": rss,
        "cpu": cpu,
        "restart": statistics.median(latencies) * 1000,
        "stop": stop,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--restarts", type=int, default=15)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for tool in (Ours, Supervisord):
            directory = Path(tmp) / tool.name
            directory.mkdir()
            results[tool.name] = measure(
                tool(directory, args.services), args.services, args.restarts, args.idle
            )
    ours, theirs = results["graph-supervisor"], results["supervisord"]
    rows = [
        (f"start {args.services}: all processes exist (s)", "spawned", "{:.2f}"),
        (f"start {args.services}: all ready / RUNNING (s)", "ready", "{:.2f}"),
        ("idle RSS of the supervisor (MB)", "rss", "{:.1f}"),
        (f"idle CPU over {args.idle:g}s (% of a core)", "cpu", "{:.2f}"),
        (f"restart latency, median of {args.restarts} (ms)", "restart", "{:.1f}"),
        (f"stop all {args.services} (s)", "stop", "{:.2f}"),
    ]
    print(f"{'':48} {'graph-supervisor':>17} {'supervisord ' + SUPERVISORD_VERSION:>18} {'ratio':>7}")
    for label, key, fmt in rows:
        ratio = ours[key] / theirs[key] if theirs[key] else float("nan")
        print(f"{label:48} {fmt.format(ours[key]):>17} {fmt.format(theirs[key]):>18} {ratio:>7.2f}")


if __name__ == "__main__":
    main()
