"""SSH proxy benchmark: the device proxy (2 Conch workers) against the same sshd reached directly.

    .venv/bin/python bench/ssh_proxy_bench.py [--runs 30] [--rounds 4] [--megabytes 200]
        [--sessions 200] [--slow-seconds 10]

Everything runs on 127.0.0.1, in a temporary directory, and every loop and wait is bounded. The
stack is the real one: ``supervisor run graphs/device-proxy.toml --profile cli-ssh`` (ssh-agent,
key-loader loading an Ed25519 identity, the registry oneshot, and ``ssh-proxy`` with
``replicas = 2`` sharing the supervisor's ``listen`` socket), in front of one device, the real
OpenSSH sshd started by ``examples.demo.device_sshd``. The device trusts both the proxy's identity and
the user's key, so the direct path is the same client, key and sshd without the proxy.

Both paths use the OpenSSH client (``-F /dev/null``, BatchMode) with curve25519-sha256,
aes128-ctr and hmac-sha2-256: Conch has no chacha20-poly1305, AES-GCM, EtM MACs or sntrup761, so
the client's defaults cannot be used through the proxy, and the direct path is held to the same
algorithms (OpenSSH 9.2's default sntrup761x25519 key exchange alone adds about 130 ms here).

Figures, proxy beside direct, with the issue's targets:

1. set-up: connect, authenticate, run ``true``, close; one client at a time (``--runs``) and 8
   at once (``--rounds`` rounds of 8); median and p90 of the wall time of each ``ssh``.
2. throughput: ``--megabytes`` MB up (stdin to ``wc -c`` on the device) and down
   (``head -c`` of /dev/zero on the device); median MB/s of 3 runs, byte counts checked.
3. memory per session: ``--sessions`` concurrent idle sessions (each ``ssh … 'echo up; sleep'``,
   opened in batches of 8, a session counting once ``up`` arrives); the two workers' VmRSS
   summed before and with all open; failures counted. Measured before the bulk transfers, whose
   freed buffers would otherwise hold the sessions inside RSS already counted.
4. slow reader: ``cat /dev/zero`` on the device read at about 1 MB/s for ``--slow-seconds``;
   the workers' RSS sampled every second: first, max, last.
"""

import argparse
import getpass
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the harness is imported as the tests do

from bench.measure import percentile, rss_kb  # noqa: E402
from examples.demo.stack import (  # noqa: E402
    GRAPH,
    PROFILE,
    keypair,
    start_device,
    status,
    stop_process,
    wait_until,
)
from examples.demo.stack import Stack as ProxyStack  # noqa: E402
from tests.helpers.net import accepts_ssh, free_port  # noqa: E402

DEVICE = "0b5e7c1a2d3f4e5a6b7c8d9e0f1a2b3c"
USER = "bench"
CIPHER, MAC, KEX = "aes128-ctr", "hmac-sha2-256", "curve25519-sha256"
BATCH = 8  # sshd's MaxStartups begins dropping unauthenticated connections past 10


class Stack:
    """The device sshd, and the device-proxy graph under ``supervisor run``.

    Keys, registry, environment and ssh options are the demo's (``examples/demo/stack.py``); what
    is the bench's own is the device trusting the user's key too, and the workers' pids.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.device_port = free_port()
        self.harness = ProxyStack(home, free_port())
        self.user_key = home / "user" / "id_ed25519"
        self.device: subprocess.Popen | None = None
        self.supervisor: subprocess.Popen | None = None
        self.control = home / "run" / "control.sock"
        self.pids: list[int] = []

    @property
    def proxy_port(self) -> int:
        return self.harness.proxy_port

    def start(self) -> None:
        home = self.home
        identity = self.harness.identity()
        user_public = keypair(self.user_key)
        device_dir = home / "device"
        # the proxy's identity and the user's key: the direct path is the same client, key and sshd
        self.device = start_device(device_dir, self.device_port, f"{identity}\n{user_public.read_text()}")
        wait_until(lambda: accepts_ssh(self.device_port), 30, "the device's sshd")

        self.harness.fresh_registry()
        self.harness.add_user(USER, user_public)
        host_key = device_dir / "host_key.pub"
        self.harness.add_device(DEVICE, self.device_port, getpass.getuser(), host_key, users=(USER,))
        self.harness.add_canary(self.device_port, getpass.getuser(), host_key)  # device-ssh's check

        self.supervisor = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "run", str(GRAPH), "--profile", PROFILE]
            + ["--runtime-dir", str(home / "run")],
            cwd=ROOT,
            env=self.harness.env(),
            stdout=(home / "supervisor.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: len(self.workers()) == 2, 90, "the proxy's two workers")
        wait_until(lambda: self.run(True, "true").returncode == 0, 30, "the proxy")

    def workers(self) -> list[int]:
        """The ssh-proxy workers' pids, once both are ready."""
        if self.supervisor.poll() is not None:
            log = (self.home / "supervisor.log").read_text()
            raise SystemExit(f"bench: supervisor run exited {self.supervisor.returncode}:\n{log}")
        found = status(self.control)
        if found is None:
            return []
        return [
            unit["pid"]
            for unit in found["services"]
            if unit["name"] == "ssh-proxy" and unit["state"] == "ready" and unit["pid"]
        ]

    def rss(self) -> int:
        return sum(rss_kb(pid) for pid in self.pids)

    def command(self, proxy: bool, *remote: str, options: tuple[str, ...] = ()) -> list[str]:
        port = self.proxy_port if proxy else self.device_port
        login = f"{USER}+{DEVICE}" if proxy else getpass.getuser()
        reach = self.harness.ssh_options(self.user_key)[:-2] + ["-p", str(port)]  # its -p is last
        return [
            "ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes",
            "-o", f"KexAlgorithms={KEX}", "-c", CIPHER, "-m", MAC, *reach, "-T", *options,
            f"{login}@127.0.0.1", *remote,
        ]  # fmt: skip

    def run(self, proxy: bool, *remote: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(proxy, *remote), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
        )

    def stop(self) -> None:
        stop_process(self.supervisor, 30)
        stop_process(self.device, 30)


# 1. set-up -------------------------------------------------------------------------------------


def one_setup(stack: Stack, proxy: bool, failures: list) -> float:
    started = time.perf_counter()
    result = stack.run(proxy, "true", timeout=60)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        failures.append(result.stderr.decode(errors="replace").strip())
    return elapsed


def setup_times(stack: Stack, proxy: bool, clients: int, rounds: int) -> tuple[list[float], list]:
    times: list[float] = []
    failures: list = []
    for _ in range(rounds):
        threads = [
            threading.Thread(target=lambda: times.append(one_setup(stack, proxy, failures)))
            for _ in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    return times, failures


# 2. throughput ---------------------------------------------------------------------------------


def upload(stack: Stack, proxy: bool, size: int) -> float:
    source = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE)
    started = time.perf_counter()
    result = subprocess.run(
        stack.command(proxy, "wc -c"), stdin=source.stdout, capture_output=True, timeout=300
    )
    elapsed = time.perf_counter() - started
    source.stdout.close()
    source.wait(10)
    received = result.stdout.decode().strip()
    if result.returncode != 0 or received != str(size):
        raise SystemExit(f"bench: upload sent {size} bytes, device counted {received!r}: {result.stderr!r}")
    return size / elapsed / 1e6


def download(stack: Stack, proxy: bool, size: int) -> float:
    started = time.perf_counter()
    client = subprocess.Popen(
        stack.command(proxy, f"head -c {size} /dev/zero"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    received = 0
    buffer = bytearray(1 << 20)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        n = client.stdout.readinto(buffer)
        if not n:
            break
        received += n
    status = client.wait(30)
    elapsed = time.perf_counter() - started
    if status != 0 or received != size:
        raise SystemExit(f"bench: download of {size} bytes got {received}, ssh exited {status}")
    return size / elapsed / 1e6


# 3. memory per idle session --------------------------------------------------------------------


def open_sessions(stack: Stack, count: int) -> tuple[list[subprocess.Popen], int]:
    """``count`` idle sessions through the proxy, opened BATCH at a time; (processes, failures)."""
    opened: list[subprocess.Popen] = []
    failures = 0
    while len(opened) + failures < count:
        batch = [
            subprocess.Popen(
                stack.command(True, "echo up; exec sleep 300"),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(min(BATCH, count - len(opened) - failures))
        ]
        for process in batch:
            line = read_line(process, 30)
            if line == b"up\n":
                opened.append(process)
            else:
                failures += 1
                process.kill()
                process.wait(10)
    return opened, failures


def read_line(process: subprocess.Popen, timeout: float) -> bytes:
    """The first line of ``process``'s stdout, or b"" after ``timeout`` seconds."""
    found: list[bytes] = []
    reader = threading.Thread(target=lambda: found.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return found[0] if found else b""


def close_sessions(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        process.stdout.close()


# 4. slow reader --------------------------------------------------------------------------------


def slow_reader(stack: Stack, seconds: float) -> tuple[list[int], int]:
    """RSS samples (KB, one a second) while a client reads ``cat /dev/zero`` at about 1 MB/s."""
    client = subprocess.Popen(
        stack.command(True, "cat /dev/zero"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,
    )
    received = 0
    samples = [stack.rss()]
    started = time.monotonic()
    next_sample = started + 1
    while time.monotonic() - started < seconds:
        received += len(client.stdout.read(16384))
        time.sleep(0.016)  # 16 KiB per ~16 ms: about 1 MB/s
        if time.monotonic() >= next_sample:
            samples.append(stack.rss())
            next_sample += 1
    samples.append(stack.rss())
    client.kill()
    client.wait(10)
    client.stdout.close()
    return samples, received


# -----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="set-up runs with one client")
    parser.add_argument("--rounds", type=int, default=4, help="set-up rounds of 8 concurrent clients")
    parser.add_argument("--megabytes", type=int, default=200, help="bulk transfer size each way")
    parser.add_argument("--repeat", type=int, default=3, help="bulk transfers per direction and path")
    parser.add_argument("--sessions", type=int, default=200, help="concurrent idle sessions")
    parser.add_argument("--slow-seconds", type=float, default=10, help="slow reader duration")
    args = parser.parse_args()
    for tool in ("ssh", "ssh-keygen", "ssh-agent", "/usr/sbin/sshd"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} not found")

    console = Console(width=120)
    home = Path(tempfile.mkdtemp(prefix="sshbench-"))
    stack = Stack(home)
    try:
        console.print("starting the device sshd and supervisor run graphs/device-proxy.toml (cli-ssh) …")
        stack.start()
        stack.pids = stack.workers()
        console.print(f"workers {stack.pids}, proxy :{stack.proxy_port}, device :{stack.device_port}")
        for proxy in (False, True):  # warm both paths (page cache, the proxy's imports)
            for _ in range(3):
                stack.run(proxy, "true")

        table = Table(title=f"SSH proxy (2 Conch workers) vs direct sshd: {KEX}, {CIPHER}, {MAC}; 127.0.0.1")
        for column in ("figure", "direct", "proxy", "proxy / direct", "target", "met"):
            table.add_column(column, justify="left" if column in ("figure", "target") else "right")

        # 1. set-up
        for clients, rounds in ((1, args.runs), (8, args.rounds)):
            measured = {}
            for proxy in (False, True):
                times, failures = setup_times(stack, proxy, clients, rounds)
                measured[proxy] = (times, failures)
                console.print(
                    f"set-up x{clients} {'proxy' if proxy else 'direct'}: {len(times)} runs,"
                    f" {len(failures)} failed" + (f" ({failures[0]})" if failures else "")
                )
            for label, fraction in (("median", 0.5), ("p90", 0.9)):
                direct = percentile(measured[False][0], fraction) * 1000
                proxied = percentile(measured[True][0], fraction) * 1000
                ratio = proxied / direct
                table.add_row(
                    f"set-up, {clients} client{'s' if clients > 1 else ''} ({label}, ms)",
                    f"{direct:.0f}",
                    f"{proxied:.0f}",
                    f"{ratio:.2f}x",
                    "≤ 1.5x",
                    "yes" if ratio <= 1.5 else "NO",
                )

        # 3. memory per idle session
        time.sleep(1)
        before = stack.rss()
        started = time.monotonic()
        sessions, failures = open_sessions(stack, args.sessions)
        opened_in = time.monotonic() - started
        time.sleep(2)
        with_open = stack.rss()
        alive = sum(process.poll() is None for process in sessions)
        close_sessions(sessions)
        per_session = (with_open - before) / max(1, len(sessions))
        console.print(
            f"idle sessions: {len(sessions)} opened in {opened_in:.1f}s, {failures} failed,"
            f" {alive} still open at the measurement; workers' RSS {before} KB -> {with_open} KB"
        )
        table.add_row(
            f"memory per idle session, {args.sessions} open (KB)",
            "",
            f"{per_session:.0f}",
            "",
            "< 300 KB",
            "yes" if per_session < 300 else "NO",
        )
        table.add_row(
            f"failures opening {args.sessions} idle sessions",
            "",
            f"{failures + len(sessions) - alive}",
            "",
            "0",
            "yes" if failures == 0 and alive == len(sessions) else "NO",
        )

        # 2. throughput
        size = args.megabytes * 1_000_000
        for name, transfer in (("upload", upload), ("download", download)):
            rates = {}
            for proxy in (False, True):
                rates[proxy] = statistics.median(transfer(stack, proxy, size) for _ in range(args.repeat))
            share = rates[True] / rates[False]
            table.add_row(
                f"{name} {args.megabytes} MB (MB/s)",
                f"{rates[False]:.0f}",
                f"{rates[True]:.0f}",
                f"{share:.0%}",
                "≥ 60%",
                "yes" if share >= 0.6 else "NO",
            )

        # 4. slow reader
        time.sleep(2)
        samples, received = slow_reader(stack, args.slow_seconds)
        growth = (samples[-1] - samples[0]) / 1024
        console.print(
            f"slow reader: {received / 1e6:.1f} MB read in {args.slow_seconds:g}s; workers' RSS (KB)"
            f" each second: {' '.join(str(s) for s in samples)}"
        )
        table.add_row(
            f"workers' RSS, slow reader {args.slow_seconds:g} s (MB)",
            "",
            f"{samples[0] / 1024:.1f} / {max(samples) / 1024:.1f} / {samples[-1] / 1024:.1f}",
            "first / max / last",
            "flat (< 4 MB)",
            "yes" if (max(samples) - samples[0]) / 1024 < 4 else "NO",
        )
        console.print(table)
        console.print(
            f"{os.cpu_count()} CPUs; workers' RSS before the idle sessions"
            f" {before / 1024:.1f} MB (two workers); growth under the slow reader {growth:+.1f} MB"
        )
        return 0
    except TimeoutError as late:
        raise SystemExit(f"bench: {late}") from None
    finally:
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
