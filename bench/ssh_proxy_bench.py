"""SSH proxy benchmark: the device proxy (Conch workers) against the same sshd reached directly.

    .venv/bin/python bench/ssh_proxy_bench.py [--runs 20] [--megabytes 200] [--repeat 3]
        [--rate-seconds 20] [--rate-clients 8] [--sessions 1000] [--slow-seconds 10]
        [--settle 180] [--quiet-load 0.5]

Everything runs on 127.0.0.1, in a temporary directory, and every loop and wait is bounded. The
stack is the real one: ``supervisor run graphs/device-proxy.toml --profile cli-ssh`` (ssh-agent,
key-loader loading an Ed25519 identity, the registry oneshot, and ``ssh-proxy`` with
``replicas = 2`` sharing the supervisor's ``listen`` socket), in front of one device, the real
OpenSSH sshd started by ``examples.demo.device_sshd``. The device trusts both the proxy's identity and
the user's key, so the direct path is the same client, key and sshd without the proxy. The
figures about one worker use a third worker started alone on its own port, with the stack's
agent, registry and host keys.

Clients run in two ways: on their **defaults** (``-F /dev/null``: OpenSSH 9.2 picks
chacha20-poly1305 with both the proxy and sshd, and sntrup761x25519 with sshd, which the proxy
does not offer, so curve25519 with it), and **pinned** alike on both paths (curve25519-sha256,
aes128-ctr, hmac-sha2-256), as this bench measured before the proxy had AEAD ciphers.

Figures, each a ratio measured in the same run, with the issue's targets:

1. throughput, defaults: ``--megabytes`` MB up (to ``wc -c``) and down (``head -c`` of
   /dev/zero), timed from the remote command's start to its last byte, so the connection's
   set-up is not counted; median of ``--repeat``, the paths alternating. Beside it, CPU seconds
   per GB: the proxy's workers, and the device's sshd processes (on the direct path, and behind
   the proxy); the share of the machine's CPU in use during each transfer; and a reference, the
   same transfer relayed by OpenSSH itself (``ssh`` to the device running ``ssh`` to the device
   again: an sshd and an ssh client re-encrypting in the middle, as the proxy does), which shows
   what any re-encrypting hop costs on this machine.
2. throughput, pinned: the same, reported without a target.
3. set-up: ``--runs`` sequential ``ssh … true`` on each path, median and p99 (wall time).
4. new sessions per second one worker sustains: ``--rate-clients`` OpenSSH clients each running
   ``ssh … true`` in a loop for ``--rate-seconds``, against the one worker and against sshd
   (the clients stay under sshd's MaxStartups of 10 unauthenticated connections); and that
   worker's RSS with ``--sessions`` idle sessions open (each an authenticated connection with a
   session, ``echo up; exec sleep``, opened 8 at a time).
5. slow reader: ``cat /dev/zero`` through the stack read at about 1 MB/s for ``--slow-seconds``;
   the two workers' RSS sampled every second: first, max, last.

The machine's load average is printed before each figure, after waiting up to ``--settle``
seconds for the 1-minute load to fall below ``--quiet-load``. A target is judged only when the
load was below that mark; otherwise the figure is printed with "loaded: no claim", because the
direct path is slowed as much as the proxy and a ratio from such a run proves nothing.
"""

import argparse
import getpass
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import attrs
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the harness is imported as the tests do

from bench.measure import cpu_seconds, load_average, percentile, rss_kb  # noqa: E402
from examples.demo.stack import (  # noqa: E402
    GRAPH,
    PROFILE,
    keypair,
    status,
    stop_process,
    wait_until,
)
from examples.demo.stack import Stack as ProxyStack  # noqa: E402
from tests.helpers.net import accepts_ssh, free_port  # noqa: E402

DEVICE = "0b5e7c1a2d3f4e5a6b7c8d9e0f1a2b3c"
USER = "bench"
DEFAULTS: tuple[str, ...] = ()
PINNED = ("-o", "KexAlgorithms=curve25519-sha256", "-c", "aes128-ctr", "-m", "hmac-sha2-256")
DIRECT, PROXY, RELAYED = "direct", "proxy", "OpenSSH relaying"  # the paths figure 1 compares
BATCH = 8  # sshd's MaxStartups begins dropping unauthenticated connections past 10


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name: state, ppid, ... (None once the process is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_of(pids) -> dict[int, float]:
    """CPU seconds (``measure.cpu_seconds``) of each process in ``pids`` still running."""
    found = {}
    for pid in pids:
        try:
            found[pid] = cpu_seconds(pid)
        except (OSError, IndexError):  # gone, or going
            continue
    return found


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two ``cpu_of`` snapshots (a new process counts from 0)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def sshd_processes(root: int) -> list[int]:
    """The device's sshd: the listener and every sshd process below it (not the commands run)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "sshd":
                found.append(pid)
        except OSError:
            continue
        pending += children.get(pid, [])
    return found


class Stack:
    """The device sshd, the device-proxy graph under ``supervisor run``, and one worker alone.

    Keys, registry, environment and ssh options are the demo's (``examples/demo/stack.py``); what
    is the bench's own is the device trusting the user's key too, the workers' pids, and the
    single worker.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.device_port = free_port()
        self.single_port = free_port()
        self.harness = ProxyStack(home, free_port())
        self.user_key = home / "user" / "id_ed25519"
        self.device: subprocess.Popen | None = None
        self.supervisor: subprocess.Popen | None = None
        self.single: subprocess.Popen | None = None
        self.control = home / "run" / "control.sock"
        self.pids: list[int] = []

    def start(self) -> None:
        home = self.home
        identity = self.harness.identity()
        user_public = keypair(self.user_key)
        device_dir = home / "device"
        device_dir.mkdir()
        # the proxy's identity and the user's key: the direct path is the same client, key and sshd
        (device_dir / "authorized_keys").write_text(f"{identity}\n{user_public.read_text()}")
        self.device = subprocess.Popen(
            [sys.executable, "-m", "examples.demo.device_sshd", "--dir", str(device_dir)]
            + ["--port", str(self.device_port), "--authorized-keys", str(device_dir / "authorized_keys")],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(home / "sshd.log").open("w"),
        )
        wait_until(lambda: accepts_ssh(self.device_port), 30, "the device's sshd not ready")

        self.harness.fresh_registry()
        self.harness.add_user(USER, user_public)
        host_key = device_dir / "host_key.pub"
        self.harness.add_device(DEVICE, self.device_port, getpass.getuser(), host_key, users=(USER,))

        self.supervisor = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "run", str(GRAPH), "--profile", PROFILE]
            + ["--runtime-dir", str(home / "run")],
            cwd=ROOT,
            env=self.harness.env(),
            stdout=(home / "supervisor.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: len(self.workers()) == 2, 90, "the proxy's two workers not ready")
        wait_until(lambda: self.run(True, "true").returncode == 0, 30, "the proxy not ready")
        self.pids = self.workers()
        # One more worker, alone on its port, sharing the stack's agent, registry and host keys.
        self.single = subprocess.Popen(
            [sys.executable, "-m", "services.ssh_proxy", "--agent", str(home / "run" / "agent.sock")]
            + ["--registry", str(self.harness.db), "--host-keys", str(self.harness.state / "host-keys")]
            + ["--listen", f"127.0.0.1:{self.single_port}"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(home / "single.log").open("w"),
        )
        wait_until(lambda: accepts_ssh(self.single_port), 30, "the single worker not ready")

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

    def command(self, port: int | None, *remote: str, algorithms: tuple[str, ...] = PINNED) -> list[str]:
        """``ssh`` to the device, through the proxy listening on ``port`` or directly (None)."""
        login = f"{USER}+{DEVICE}" if port else getpass.getuser()
        reach = self.harness.ssh_options(self.user_key)[:-2] + ["-p", str(port or self.device_port)]
        return [
            "ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes",
            *algorithms, *reach, "-T", f"{login}@127.0.0.1", *remote,
        ]  # fmt: skip

    def relayed(self, remote: str) -> str:
        """``remote`` run on the device through a second ``ssh`` started there, to the same sshd.

        The hop between is OpenSSH re-encrypting what it relays (an sshd for the user's
        connection, an ``ssh`` client for the device's, both on their defaults): the reference
        for what a relaying SSH hop in C costs on the same machine.
        """
        return shlex.join(self.command(None, remote, algorithms=DEFAULTS))

    def port(self, proxy: bool) -> int | None:
        return self.harness.proxy_port if proxy else None

    def run(self, proxy: bool, *remote: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(self.port(proxy), *remote),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )

    def stop(self) -> None:
        stop_process(self.single, 30)
        stop_process(self.supervisor, 30)
        stop_process(self.device, 30)


def killed_after(process: subprocess.Popen, seconds: float) -> threading.Timer:
    """Bound every blocking read on ``process``: it is killed (its pipes close) after ``seconds``."""
    timer = threading.Timer(seconds, process.kill)
    timer.daemon = True
    timer.start()
    return timer


# set-up and new sessions per second -------------------------------------------------------------


def setup_times(stack: Stack, proxy: bool, runs: int, algorithms: tuple[str, ...]) -> tuple[list, int]:
    """Wall time of ``runs`` sequential ``ssh … true``; and how many failed."""
    times, failed = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(
            stack.command(stack.port(proxy), "true", algorithms=algorithms),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
        times.append(time.perf_counter() - started)
        failed += result.returncode != 0
    return times, failed


def session_rate(command: list[str], clients: int, seconds: float) -> tuple[float, int]:
    """Sessions completed a second by ``clients`` looping on ``command`` for ``seconds``; failures."""
    done, failed, lock = [0], [0], threading.Lock()
    stop = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < stop:
            result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
            with lock:
                (done if result.returncode == 0 else failed)[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    return done[0] / (time.monotonic() - started), failed[0]


# throughput with CPU per GB -------------------------------------------------------------------


@attrs.frozen
class Transfer:
    rate: float  # MB/s
    worker_cpu: float  # seconds, all workers
    sshd_cpu: float  # seconds, the device's sshd processes
    busy: float  # the share of the machine's CPU time in use (all cores; /proc/stat)


def transfer(stack: Stack, path: str, upload: bool, size: int, algorithms: tuple[str, ...]) -> Transfer:
    """One transfer on ``path`` (DIRECT, PROXY, or RELAYED: direct to the device, which relays it
    through OpenSSH, ``Stack.relayed``), timed from the remote command's start to its last byte.

    The remote command sleeps a second after the data, so its sshd processes are still there to
    be measured when the last byte arrives.
    """
    proxy = path == PROXY
    remote = "echo start; wc -c; sleep 1" if upload else f"head -c {size} /dev/zero; sleep 1"
    if path == RELAYED:
        remote = stack.relayed(remote)
    client = subprocess.Popen(
        stack.command(stack.port(proxy), remote, algorithms=algorithms),
        stdin=subprocess.PIPE if upload else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,
    )
    timer = killed_after(client, 300)

    def snapshot() -> tuple[float, dict, dict, tuple[int, int]]:
        pids = cpu_of(stack.pids)
        return time.perf_counter(), pids, cpu_of(sshd_processes(stack.device.pid)), machine_ticks()

    try:
        if upload:
            if client.stdout.readline() != b"start\n":
                raise SystemExit("bench: the upload's remote command did not start")
            first = snapshot()
            moved = size
            writer = threading.Thread(target=_write_zeros, args=(client.stdin, size))
            writer.start()
            counted = client.stdout.readline().strip()
            last = snapshot()
            writer.join(60)
            if counted != str(size).encode():
                raise SystemExit(f"bench: upload sent {size} bytes, device counted {counted!r}")
        else:
            buffer = bytearray(1 << 20)
            received = client.stdout.readinto(buffer)
            first = snapshot()
            moved = size - received  # timed from the first chunk's arrival
            while received < size:
                n = client.stdout.readinto(buffer)
                if not n:
                    raise SystemExit(f"bench: download of {size} bytes got {received}")
                received += n
            last = snapshot()
        if client.wait(30) != 0:
            raise SystemExit(f"bench: ssh exited {client.returncode}")
    finally:
        timer.cancel()
        client.kill()
        client.wait(10)
    workers = spent(first[1], last[1]) if proxy else 0.0
    (total, idle), (total_after, idle_after) = first[3], last[3]
    busy = 1 - (idle_after - idle) / max(1, total_after - total)
    return Transfer(moved / (last[0] - first[0]) / 1e6, workers, spent(first[2], last[2]), busy)


def machine_ticks() -> tuple[int, int]:
    """All cores' CPU ticks so far, and the idle ones among them (idle and iowait; /proc/stat).

    Guest time is left out of the total: the kernel counts it in user time too.
    """
    fields = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(fields), fields[3] + fields[4]


def _write_zeros(pipe, size: int) -> None:
    chunk = memoryview(bytes(1 << 20))
    try:
        for offset in range(0, size, len(chunk)):
            pipe.write(chunk[: min(len(chunk), size - offset)])
    finally:
        pipe.close()


# idle sessions and the slow reader --------------------------------------------------------------


def open_sessions(stack: Stack, port: int, count: int) -> tuple[list[subprocess.Popen], int]:
    """``count`` idle sessions through the worker on ``port``, BATCH at a time; (processes, failures)."""
    opened: list[subprocess.Popen] = []
    failures = 0
    while len(opened) + failures < count:
        batch = [
            subprocess.Popen(
                stack.command(port, "echo up; exec sleep 1800"),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(min(BATCH, count - len(opened) - failures))
        ]
        for process in batch:
            timer = killed_after(process, 60)
            line = process.stdout.readline()
            timer.cancel()
            if line == b"up\n":
                opened.append(process)
            else:
                failures += 1
                process.kill()
                process.wait(10)
                process.stdout.close()
    return opened, failures


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


def slow_reader(stack: Stack, seconds: float) -> tuple[list[int], int]:
    """RSS samples (KB, one a second) while a client reads ``cat /dev/zero`` at about 1 MB/s."""
    client = subprocess.Popen(
        stack.command(stack.port(True), "cat /dev/zero"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,
    )
    timer = killed_after(client, seconds + 60)
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
    timer.cancel()
    client.kill()
    client.wait(10)
    client.stdout.close()
    return samples, received


# -----------------------------------------------------------------------------------------------


class Report:
    """The table, and whether a target may be judged: only when the machine was quiet."""

    def __init__(self, console: Console, settle: float, quiet: float) -> None:
        self.console, self.settle, self.quiet = console, settle, quiet
        self.table = Table(title="SSH proxy vs direct sshd, 127.0.0.1, each ratio from one run")
        for column in ("figure", "load", "direct", "proxy", "proxy / direct", "target", "met"):
            self.table.add_column(column, justify="left" if column in ("figure", "target") else "right")
        self.loaded_at = 0.0

    def before(self, what: str) -> None:
        """Wait (bounded) for a quiet machine, then print the load average before ``what``."""
        deadline = time.monotonic() + self.settle
        while os.getloadavg()[0] >= self.quiet and time.monotonic() < deadline:
            time.sleep(5)
        self.loaded_at = os.getloadavg()[0]
        self.console.print(f"load average before {what}: {load_average()}")

    def row(self, figure, direct, proxy, ratio="", target="", met=None, timing=True) -> None:
        """One figure; ``met`` judged unless it is a timing and the machine was loaded."""
        if met is None:
            verdict = ""
        elif timing and self.loaded_at >= self.quiet:
            verdict = "loaded: no claim"
        else:
            verdict = "yes" if met else "NO"
        self.table.add_row(figure, f"{self.loaded_at:.2f}", direct, proxy, ratio, target, verdict)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="sequential set-up runs per path")
    parser.add_argument("--megabytes", type=int, default=200, help="bulk transfer size each way")
    parser.add_argument("--repeat", type=int, default=3, help="bulk transfers per direction and path")
    parser.add_argument("--rate-seconds", type=float, default=20, help="how long clients open sessions")
    parser.add_argument("--rate-clients", type=int, default=8, help="clients opening sessions at once")
    parser.add_argument("--sessions", type=int, default=1000, help="concurrent idle sessions on one worker")
    parser.add_argument("--slow-seconds", type=float, default=10, help="slow reader duration")
    parser.add_argument("--settle", type=float, default=180, help="seconds to wait for a quiet machine")
    parser.add_argument(
        "--quiet-load", type=float, default=0.5, help="1-minute load below which targets are judged"
    )
    args = parser.parse_args()
    for tool in ("ssh", "ssh-keygen", "ssh-agent", "/usr/sbin/sshd"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} not found")

    console = Console(width=140)
    home = Path(tempfile.mkdtemp(prefix="sshbench-"))
    stack = Stack(home)
    report = Report(console, args.settle, args.quiet_load)
    try:
        console.print("starting the device sshd and supervisor run graphs/device-proxy.toml (cli-ssh) …")
        stack.start()
        console.print(
            f"workers {stack.pids}, proxy :{stack.harness.proxy_port}, single worker"
            f" {stack.single.pid} :{stack.single_port}, device :{stack.device_port}; {os.cpu_count()} CPUs"
        )
        for proxy in (False, True):  # warm both paths (page cache, the proxy's imports)
            for _ in range(3):
                stack.run(proxy, "true")

        # 1 and 2: throughput and CPU per GB
        size = args.megabytes * 1_000_000
        for mode, algorithms in (("defaults", DEFAULTS), ("pinned", PINNED)):
            for upload in (True, False):
                name = f"{'upload' if upload else 'download'} {args.megabytes} MB, {mode}"
                report.before(name)
                target = mode == "defaults"
                # The paths alternate, so a change in the machine's load falls on each of them.
                paths = (DIRECT, PROXY, RELAYED) if target else (DIRECT, PROXY)
                runs = {path: [] for path in paths}
                for _ in range(args.repeat):
                    for path in paths:
                        runs[path].append(transfer(stack, path, upload, size, algorithms))
                rate = {path: statistics.median(t.rate for t in runs[path]) for path in runs}
                for path in paths:
                    console.print(
                        f"{name}, {path}: {[round(t.rate) for t in runs[path]]} MB/s, the machine's CPU"
                        f" {[f'{t.busy:.0%}' for t in runs[path]]} busy"
                    )
                share = rate[PROXY] / rate[DIRECT]
                report.row(
                    f"{name} (MB/s)",
                    f"{rate[DIRECT]:.0f}",
                    f"{rate[PROXY]:.0f}",
                    f"{share:.0%}",
                    "≥ 90%" if target else "",
                    share >= 0.9 if target else None,
                )
                if target:
                    report.row(
                        "  reference: OpenSSH relaying (MB/s)",
                        f"{rate[DIRECT]:.0f}",
                        f"{rate[RELAYED]:.0f}",
                        f"{rate[RELAYED] / rate[DIRECT]:.0%}",
                        f"proxy / it: {share * rate[DIRECT] / rate[RELAYED]:.2f}x",
                    )
                gigabytes = size * args.repeat / 1e9
                sshd = sum(t.sshd_cpu for t in runs[DIRECT]) / gigabytes
                worker = sum(t.worker_cpu for t in runs[PROXY]) / gigabytes
                behind = sum(t.sshd_cpu for t in runs[PROXY]) / gigabytes
                console.print(
                    f"  CPU s/GB: sshd direct {sshd:.2f}; through the proxy: workers {worker:.2f},"
                    f" device sshd {behind:.2f}"
                )
                report.row(
                    "  CPU s/GB: sshd (direct) vs workers (proxy)",
                    f"{sshd:.2f}",
                    f"{worker:.2f}",
                    f"{worker / sshd:.2f}x",
                    "≤ 1.5x" if target else "",
                    worker / sshd <= 1.5 if target else None,
                )

        # 3: set-up
        for mode, algorithms in (("defaults", DEFAULTS), ("pinned", PINNED)):
            report.before(f"set-up, {mode}")
            measured = {proxy: setup_times(stack, proxy, args.runs, algorithms) for proxy in (False, True)}
            failed = measured[False][1] + measured[True][1]
            for label, fraction in (("median", 0.5), ("p99", 0.99)):
                direct = percentile(measured[False][0], fraction) * 1000
                proxied = percentile(measured[True][0], fraction) * 1000
                report.row(
                    f"set-up {mode}, {label} of {args.runs} (ms)" + (f", {failed} failed" if failed else ""),
                    f"{direct:.0f}",
                    f"{proxied:.0f}",
                    f"{proxied / direct:.2f}x",
                    "≤ 1.0x",
                    proxied <= direct and not failed,
                )

        # 4: new sessions per second, one worker, and its RSS with many idle sessions
        report.before("new sessions per second")
        rates = {
            port: session_rate(stack.command(port, "true"), args.rate_clients, args.rate_seconds)
            for port in (None, stack.single_port)
        }
        (direct, direct_failed), (proxied, proxy_failed) = rates[None], rates[stack.single_port]
        report.row(
            f"new sessions/s, {args.rate_clients} clients for {args.rate_seconds:g} s, one worker"
            + (f" ({direct_failed} / {proxy_failed} failed)" if direct_failed or proxy_failed else ""),
            f"{direct:.1f}",
            f"{proxied:.1f}",
            f"{proxied / direct:.2f}x",
        )
        report.before(f"{args.sessions} idle sessions")
        before = rss_kb(stack.single.pid)
        started = time.monotonic()
        sessions, failures = open_sessions(stack, stack.single_port, args.sessions)
        opened_in = time.monotonic() - started
        time.sleep(2)
        with_open = rss_kb(stack.single.pid)
        alive = sum(process.poll() is None for process in sessions)
        close_sessions(sessions)
        console.print(
            f"idle sessions: {len(sessions)} opened in {opened_in:.0f}s, {failures} failed, {alive} still"
            f" open at the measurement; the worker's RSS {before} KB -> {with_open} KB"
        )
        report.row(
            f"one worker's RSS, {args.sessions} idle sessions (MB; KB each)",
            "",
            f"{with_open / 1024:.0f}; {(with_open - before) / max(1, len(sessions)):.0f}",
            "",
            "0 failed",
            failures == 0 and alive == len(sessions),
            timing=False,
        )

        # 5: slow reader
        report.before("the slow reader")
        samples, received = slow_reader(stack, args.slow_seconds)
        console.print(
            f"slow reader: {received / 1e6:.1f} MB read in {args.slow_seconds:g}s; workers' RSS (KB)"
            f" each second: {' '.join(str(s) for s in samples)}"
        )
        report.row(
            f"workers' RSS, slow reader {args.slow_seconds:g} s (MB: first / max / last)",
            "",
            f"{samples[0] / 1024:.1f} / {max(samples) / 1024:.1f} / {samples[-1] / 1024:.1f}",
            "",
            "flat (< 4 MB)",
            (max(samples) - samples[0]) / 1024 < 4,
            timing=False,
        )
        console.print(report.table)
        return 0
    except TimeoutError as late:
        raise SystemExit(f"bench: {late}") from None
    finally:
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
