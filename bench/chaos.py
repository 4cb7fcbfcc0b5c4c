"""Chaos under load: faults injected into the real stack while users keep opening SSH sessions.

    .venv/bin/python bench/chaos.py [--seconds 60] [--rate 10] [--long 5] [--every 8]
        [--faults key-wipe,agent-kill,worker-kill,rolling-restart,reload] [--json FILE]

The stack is the demo's (``examples/demo/stack.py``): ``supervisor run`` of a copy of
``graphs/device-proxy.toml`` in profile ``cli-ssh`` (the copy is what ``reload`` changes), in
front of one device, OpenSSH's sshd started by ``examples.demo.device_sshd``, which is also the
canary that ssh-probe proves device-ssh with. Everything listens on 127.0.0.1.

The load, for ``--seconds``:

- new sessions at a steady ``--rate`` a second, each ``ssh … echo ok-N`` through the proxy,
  checked for its output and exit status (a failure keeps the last line ssh printed);
- ``--long`` long sessions streaming from the device all along (16 KiB every 50 ms), each with
  the pid of the worker carrying it.

Faults, one every ``--every`` seconds in the order given, each with what "repaired" means:

- ``key-wipe``: ``ssh-add -D`` on the shared agent; repaired when the agent holds keys again;
- ``agent-kill``: SIGKILL of the ssh-agent; repaired when an agent answers with keys again;
- ``worker-kill``: SIGKILL of one proxy worker (the one carrying the most long sessions);
  repaired when its unit is ready again with a new process;
- ``rolling-restart``: ``supervisor restart ssh-proxy``; repaired when every replica is ready in
  a new process;
- ``reload``: a setting of key-loader changed in the graph file (its check's timeout), then
  ``supervisor reload``; repaired when the command has answered and key-loader is done again.

Per fault: sessions started in its window (from the fault to the next one), sessions failed and
the lines they got, the time from the fault to its repair, and long sessions lost in its window
(and how many of those the fault's worker carried). The issue's targets: no failed session for
``key-wipe``, ``rolling-restart`` and ``reload``; repair within 1 s; long sessions survive
everything but the SIGKILL of the worker that carries them. The machine's load average is printed
before the run and after it. Every wait is bounded; the stack is stopped however the run ends.
"""

import argparse
import collections
import getpass
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import attrs
import psutil
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the harness is imported as the tests do

from bench.measure import load_average  # noqa: E402
from examples.demo.stack import (  # noqa: E402
    GRAPH,
    PROFILE,
    Stack,
    keypair,
    start_device,
    status,
    stop_process,
    wait_until,
)
from tests.helpers.net import accepts_ssh, free_port  # noqa: E402

FAULTS = ("key-wipe", "agent-kill", "worker-kill", "rolling-restart", "reload")
NO_FAILURES = ("key-wipe", "rolling-restart", "reload")  # the zero-failure faults
USER = "chaos"
DEVICE = "canary"
SESSION_TIMEOUT = 30.0  # one short session, however slow the machine
IN_FLIGHT = 64  # sessions open at once at most: a stalled stack must not make the bench fork without end
REPAIR_TIMEOUT = 60.0
CHUNK = 16384


@attrs.frozen
class Session:
    started: float
    ended: float
    ok: bool
    line: str  # what a failed one got: ssh's last line


@attrs.define
class LongSession:
    """``ssh … stream`` for the whole run: lost if it ends before the bench stops it."""

    process: subprocess.Popen
    worker: int | None = None
    received: int = 0
    ended: float | None = None
    line: str = ""


@attrs.frozen
class Fault:
    name: str
    at: float
    repaired: float | None  # seconds after ``at``; None if not within REPAIR_TIMEOUT
    worker: int | None = None  # the worker a worker-kill killed
    note: str = ""


class Deployment:
    """The device, the registry and ``supervisor run`` of a graph file of its own."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.stack = Stack(home, free_port())
        self.graph = home / "device-proxy.toml"
        self.control = home / "run" / "control.sock"
        self.user_key = home / "user" / "id_ed25519"
        self.device_port = free_port()
        self.device: subprocess.Popen | None = None
        self.supervisor: subprocess.Popen | None = None

    def start(self) -> None:
        shutil.copy(GRAPH, self.graph)
        identity = self.stack.identity()
        # One stand-in device takes every session here (a fleet's users reach many devices): let
        # its sshd take the logins in progress a burst of resumed held users brings at once.
        self.device = start_device(
            self.home / "device", self.device_port, identity + "\n", "--max-startups", "100:30:200"
        )
        wait_until(lambda: accepts_ssh(self.device_port), 30, "the device's sshd")
        self.stack.fresh_registry()
        self.stack.add_user(USER, keypair(self.user_key))
        host_key = self.home / "device" / "host_key.pub"
        self.stack.add_canary(self.device_port, getpass.getuser(), host_key)
        self.stack.registry("grant", USER, DEVICE)
        self.supervisor = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "run", str(self.graph), "--profile", PROFILE]
            + ["--runtime-dir", str(self.home / "run")],
            cwd=ROOT,
            env=self.stack.env(),
            stdout=(self.home / "supervisor.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: self.capability("device-ssh") == "available", 120, "device-ssh proven")

    def stop(self) -> None:
        stop_process(self.supervisor, 60)
        stop_process(self.device, 30)

    def status(self) -> dict:
        if self.supervisor.poll() is not None:
            said = (self.home / "supervisor.log").read_text().splitlines()[-20:]
            raise SystemExit(
                f"chaos: supervisor run exited {self.supervisor.returncode}:\n" + "\n".join(said)
            )
        return status(self.control) or {"services": [], "capabilities": []}

    def capability(self, name: str) -> str | None:
        found = self.status()
        return next((c["state"] for c in found["capabilities"] if c["name"] == name), None)

    def units(self, service: str) -> dict[str, dict]:
        return {u["unit"]: u for u in self.status()["services"] if u["name"] == service}

    def ssh(self, *remote: str) -> list[str]:
        return [
            "ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes",
            "-o", "ConnectTimeout=20", *self.stack.ssh_options(self.user_key), "-T", f"{USER}+{DEVICE}@127.0.0.1",
            *remote,
        ]  # fmt: skip

    def agent_env(self) -> dict[str, str]:
        return {**os.environ, "SSH_AUTH_SOCK": str(self.home / "run" / "agent.sock")}

    def agent_has_keys(self) -> bool:
        listed = subprocess.run(["ssh-add", "-l"], env=self.agent_env(), capture_output=True, timeout=10)
        return listed.returncode == 0

    def supervisor_command(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "supervisor", *args, "--control", str(self.control)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=REPAIR_TIMEOUT,
        )


class Load:
    """New sessions at ``rate`` a second, each on a thread of its own, until stopped."""

    def __init__(self, deployment: Deployment, rate: float) -> None:
        self.deployment = deployment
        self.rate = rate
        self.sessions: list[Session] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.in_flight = threading.BoundedSemaphore(IN_FLIGHT)

    def one(self, n: int) -> None:
        started = time.monotonic()
        try:
            result = subprocess.run(
                self.deployment.ssh(f"echo ok-{n}"),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=SESSION_TIMEOUT,
            )
            ok = result.returncode == 0 and result.stdout == f"ok-{n}\n"
            said = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        except subprocess.TimeoutExpired:
            ok, said = False, f"no answer within {SESSION_TIMEOUT:g}s"
        finally:
            self.in_flight.release()
        with self.lock:
            self.sessions.append(Session(started, time.monotonic(), ok, "" if ok else said))

    def run(self) -> None:
        period, n, next_at = 1 / self.rate, 0, time.monotonic()
        while not self.stopping.is_set():
            if self.in_flight.acquire(blocking=False):
                thread = threading.Thread(target=self.one, args=(n,), daemon=True)
                thread.start()
                self.threads.append(thread)
            else:  # not started: the stack is that far behind, which counts as a failure
                now = time.monotonic()
                with self.lock:
                    self.sessions.append(
                        Session(now, now, False, f"bench: {IN_FLIGHT} sessions in flight already")
                    )
            n += 1
            next_at += period
            self.stopping.wait(max(0.0, next_at - time.monotonic()))

    def finish(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(SESSION_TIMEOUT + 5)


def stream(deployment: Deployment) -> LongSession:
    remote = f"while head -c {CHUNK} /dev/zero; do sleep 0.05; done"  # ends once nobody reads it
    process = subprocess.Popen(
        deployment.ssh(remote), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    return LongSession(process)


def read_long(session: LongSession) -> None:
    """Count what arrives until the stream ends; an end before the bench stops it is a loss."""
    while chunk := session.process.stdout.read1(1 << 16):
        session.received += len(chunk)
    session.ended = time.monotonic()
    session.line = session.process.stderr.read().decode(errors="replace").strip()[-200:]


def carrier(session: LongSession, workers: list[int]) -> int | None:
    """The worker whose TCP connection is this client's (matched by the client's local port)."""
    try:
        mine = {c.laddr.port for c in psutil.Process(session.process.pid).net_connections("tcp") if c.raddr}
    except psutil.Error:
        return None
    for pid in workers:
        try:
            if any(c.raddr and c.raddr.port in mine for c in psutil.Process(pid).net_connections("tcp")):
                return pid
        except psutil.Error:
            continue
    return None


class Chaos:
    """The faults, each injected and then waited on until repaired."""

    def __init__(self, deployment: Deployment, long: list[LongSession]) -> None:
        self.deployment = deployment
        self.long = long
        self.reloads = 0

    def inject(self, name: str) -> Fault:
        at = time.monotonic()
        worker, note = None, ""
        if name == "key-wipe":
            subprocess.run(
                ["ssh-add", "-D"], env=self.deployment.agent_env(), capture_output=True, timeout=10
            )
            repaired = self.deployment.agent_has_keys
        elif name == "agent-kill":
            os.kill(self.deployment.units("ssh-agent")["ssh-agent"]["pid"], signal.SIGKILL)
            repaired = self.deployment.agent_has_keys
        elif name == "worker-kill":
            units = self.deployment.units("ssh-proxy")
            carried = collections.Counter(s.worker for s in self.long if s.ended is None)
            unit = max(units, key=lambda u: carried.get(units[u]["pid"], 0))
            worker = units[unit]["pid"]
            os.kill(worker, signal.SIGKILL)
            repaired = lambda: self.ready_again(unit, worker)  # noqa: E731
        elif name == "rolling-restart":
            old = {u: s["pid"] for u, s in self.deployment.units("ssh-proxy").items()}
            answer = self.deployment.supervisor_command("restart", "ssh-proxy")
            note = answer.stdout.strip() or answer.stderr.strip()
            repaired = lambda: all(self.ready_again(u, pid) for u, pid in old.items())  # noqa: E731
        elif name == "reload":
            self.change_key_loader()
            answer = self.deployment.supervisor_command("reload")
            note = " ".join((answer.stdout.strip() or answer.stderr.strip()).split())[:200]
            repaired = lambda: self.deployment.units("key-loader")["key-loader"]["state"] == "done"  # noqa: E731
        else:
            raise SystemExit(f"chaos: no fault {name!r}: use {', '.join(FAULTS)}")
        try:
            wait_until(repaired, REPAIR_TIMEOUT, f"the repair after {name}", poll=0.02)
            took = time.monotonic() - at
        except TimeoutError:
            took = None
        return Fault(name, at, took, worker, note)

    def ready_again(self, unit: str, old_pid: int) -> bool:
        found = self.deployment.units("ssh-proxy").get(unit)
        return found is not None and found["state"] == "ready" and found["pid"] not in (None, old_pid)

    def change_key_loader(self) -> None:
        """key-loader's check timeout, 5s then 6s then 5s…: a change to key-loader alone."""
        self.reloads += 1
        text = self.deployment.graph.read_text()
        section = text.index("[services.key-loader]")
        end = text.index("\n[", section + 1)
        old = re.search(r'timeout = "(\d+)s"', text[section:end])
        new = f'timeout = "{5 + self.reloads % 2}s"'
        body = text[section:end].replace(old.group(0), new)
        self.deployment.graph.write_text(text[:section] + body + text[end:])


@attrs.frozen
class Row:
    fault: str
    started: int
    failed: int
    lines: dict[str, int]
    repaired: float | None
    long_lost: int
    long_carried: int  # of those, carried by the worker it killed
    note: str

    def to_json(self) -> dict:
        return attrs.asdict(self)


def rows(faults: list[Fault], sessions: list[Session], long: list[LongSession], end: float) -> list[Row]:
    found = []
    for index, fault in enumerate(faults):
        until = faults[index + 1].at if index + 1 < len(faults) else end
        window = [s for s in sessions if fault.at <= s.started < until]
        failed = [s for s in window if not s.ok]
        lost = [s for s in long if s.ended is not None and fault.at <= s.ended < until]
        found.append(
            Row(
                fault.name,
                len(window),
                len(failed),
                dict(collections.Counter(s.line for s in failed)),
                fault.repaired,
                len(lost),
                sum(1 for s in lost if fault.worker is not None and s.worker == fault.worker),
                fault.note,
            )
        )
    return found


def run(args: argparse.Namespace, home: Path) -> tuple[list[Row], list[Session]]:
    deployment = Deployment(home)
    deployment.start()
    long = [stream(deployment) for _ in range(args.long)]
    readers = [threading.Thread(target=read_long, args=(s,), daemon=True) for s in long]
    for reader in readers:
        reader.start()
    workers = [u["pid"] for u in deployment.units("ssh-proxy").values()]
    wait_until(lambda: all(s.received > 0 for s in long), 30, "the long sessions streaming")
    for session in long:
        session.worker = carrier(session, workers)
    load_ = Load(deployment, args.rate)
    loader = threading.Thread(target=load_.run, daemon=True)
    started = time.monotonic()
    loader.start()
    chaos, faults = Chaos(deployment, long), []
    try:
        for name in args.faults:
            time.sleep(max(0.0, started + args.every * (len(faults) + 1) - time.monotonic()))
            faults.append(chaos.inject(name))
        time.sleep(max(0.0, started + args.seconds - time.monotonic()))
    finally:
        load_.finish()
        end = time.monotonic()
        for session in long:
            stop_process(session.process, 10)
        for reader in readers:
            reader.join(10)
        deployment.stop()
    return rows(faults, load_.sessions, long, end), load_.sessions


def report(console: Console, found: list[Row], sessions: list[Session], long: int) -> None:
    table = Table(title=f"chaos: {len(sessions)} sessions, {long} long sessions")
    for column in ("fault", "sessions", "failed", "repaired", "long lost", "what failed sessions got"):
        table.add_column(column)
    for row in found:
        repaired = "not within 60s" if row.repaired is None else f"{row.repaired:.2f} s"
        lost = f"{row.long_lost}" + (f" ({row.long_carried} on it)" if row.fault == "worker-kill" else "")
        lines = "; ".join(f"{n}x {line}" for line, n in row.lines.items())
        table.add_row(row.fault, str(row.started), str(row.failed), repaired, lost, lines or "-")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load runs")
    parser.add_argument("--rate", type=float, default=10.0, help="new sessions a second")
    parser.add_argument("--long", type=int, default=5, help="long streaming sessions")
    parser.add_argument("--every", type=float, default=8.0, help="seconds between faults")
    parser.add_argument("--faults", default=",".join(FAULTS), help="the faults, in order, comma-separated")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument(
        "--keep", action="store_true", help="keep the run's files (supervisor.log: the audit)"
    )
    args = parser.parse_args()
    args.faults = [name for name in args.faults.split(",") if name]
    if args.every * len(args.faults) >= args.seconds:
        parser.error("--every × the number of faults must be less than --seconds")
    console = Console()
    console.print(f"load average before: {load_average()}")
    home = Path(tempfile.mkdtemp(prefix="chaos-"))
    try:
        found, sessions = run(args, home)
    except BaseException:
        console.print(f"chaos: the run failed; its files (supervisor.log) are kept in {home}")
        raise
    if args.keep:
        console.print(f"the run's files: {home}")
    else:
        shutil.rmtree(home)
    console.print(f"load average after: {load_average()}")
    report(console, found, sessions, args.long)
    if args.json:
        Path(args.json).write_text(json.dumps([row.to_json() for row in found], indent=1))


if __name__ == "__main__":
    main()
