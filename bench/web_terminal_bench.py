"""Web terminal benchmark: keystroke echo through the whole path, and 50 sessions held at once.

    .venv/bin/python bench/web_terminal_bench.py [--keystrokes 200] [--sessions 50] [--hold 10]

Everything runs on 127.0.0.1 in a temporary directory, every loop and wait is bounded, and the
stack is the real one: ``supervisor run graphs/device-proxy.toml --profile web`` (ssh-agent,
key-loader, the registry oneshot, two ``ssh-proxy`` replicas and ``web-terminal``), set up as the
demo does (``examples/demo/stack.py``), in front of one device, the real OpenSSH sshd of
``examples.demo.device_sshd``.

1. keystroke echo: Debian's chromium (Playwright, ``executable_path``) signs in and opens a shell;
   ``--keystrokes`` single keys are pressed one at a time into bash's prompt, each timed in the
   page from its ``keydown`` to xterm.js having parsed the echo (``onWriteParsed``): browser ->
   web terminal -> proxy -> device -> back. Median and p99; target under 20 ms median.
2. sessions held: ``--sessions`` WebSockets (a wsproto client, as a page would speak it) each open
   a shell, in batches of 8 (sshd's MaxStartups starts dropping past 10 unauthenticated), answer
   an ``echo``, stay open ``--hold`` seconds with the server's pings, and answer again. Users have
   at most 4 terminals each (the graph's default), so the sessions belong to 13 users. Failures
   counted; the web terminal's RSS before and with all open.

ttyd, the usual yardstick for browser terminals, has no package in Debian bookworm (``apt-cache
policy ttyd``: no candidate), so it is not compared here. The load average is printed with the
figures: on a shared 2-core machine it says how much to trust them.
"""

import argparse
import getpass
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the harness is imported as the tests do

from bench.measure import load_average, percentile, rss_kb  # noqa: E402
from examples.demo.stack import Stack, keypair, start_device, stop_process, wait_until  # noqa: E402
from tests.helpers.deployed import Deployed  # noqa: E402
from tests.helpers.net import accepts_ssh, free_port  # noqa: E402
from tests.helpers.supervisor import Supervisor  # noqa: E402
from tests.helpers.wsclient import Client  # noqa: E402

DEVICE = "0b5e7c1a2d3f4e5a6b7c8d9e0f1a2b3c"
PER_USER = 4  # the graph runs the web terminal with its default --max-sessions
BATCH = 8
CHROMIUM = "/usr/bin/chromium"
PROBE = """() => {
  const term = window.webTerminal;
  window.bench = { start: 0, times: [], armed: true };
  document.addEventListener("keydown", () => { if (window.bench.armed) window.bench.start = performance.now(); }, true);
  term.onWriteParsed(() => {
    if (window.bench.start) {
      window.bench.times.push(performance.now() - window.bench.start);
      window.bench.start = 0;
    }
  });
}"""


class Bench:
    """The device and the graph in profile web, with ``users`` users granted the device."""

    def __init__(self, home: Path, users: int) -> None:
        self.home = home
        self.stack = Stack(home, free_port(), free_port())
        self.device_port = free_port()
        self.users = [f"bench{n}" for n in range(users)]
        self.tokens: dict[str, str] = {}
        self.device: subprocess.Popen | None = None
        self.deployed: Deployed | None = None

    def start(self) -> None:
        stack, home = self.stack, self.home
        identity = stack.identity()
        device_dir = home / "device"
        self.device = start_device(device_dir, self.device_port, identity + "\n")
        wait_until(lambda: accepts_ssh(self.device_port), 30, "the device's sshd")
        stack.fresh_registry()
        user_key = keypair(home / "user" / "id_ed25519")
        for user in self.users:
            stack.add_user(user, user_key)
        stack.add_device(
            DEVICE, self.device_port, getpass.getuser(), device_dir / "host_key.pub", users=tuple(self.users)
        )
        stack.add_canary(self.device_port, getpass.getuser(), device_dir / "host_key.pub")  # device-ssh's check
        first, *others = self.users
        self.tokens = {first: stack.enable_web_terminal(first)}
        self.tokens.update((user, stack.registry("add-token", user).stdout.strip()) for user in others)
        try:
            self.deployed = Deployed.start(stack, "web", ["web-terminal"], partial(Supervisor, home), 90)
        except AssertionError as problem:  # it says what the supervisor wrote
            raise SystemExit(f"bench: {problem}") from None

    def web_pid(self) -> int:
        (pid,) = self.deployed.pids("web-terminal").values()
        return pid

    def cookie(self, token: str) -> str:
        origin = self.stack.web_url.rstrip("/")
        request = urllib.request.Request(
            f"{origin}/api/signin",
            json.dumps({"token": token}).encode(),
            {"Origin": origin, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.headers["Set-Cookie"].split(";")[0]

    def stop(self) -> None:
        if self.deployed is not None:
            self.deployed.run.stop(30)
        stop_process(self.device, 30)


# 1. keystroke echo ----------------------------------------------------------------------------


def keystroke_echo(bench: Bench, keystrokes: int) -> list[float]:
    """Milliseconds from keydown to the echo parsed by xterm.js, one key at a time."""
    from playwright.sync_api import sync_playwright

    user = bench.users[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 600})
            page.set_default_timeout(15_000)
            page.goto(bench.stack.web_url)
            page.fill("#token", bench.tokens[user])
            page.click("button[type=submit]")
            page.click(f"#device-list a:text-is('{DEVICE}')")
            page.wait_for_function("() => window.webTerminal !== undefined")
            page.wait_for_timeout(1500)  # the login banner and the prompt
            page.evaluate(PROBE)
            for n in range(keystrokes):
                if n and n % 40 == 0:  # a fresh line now and then; its redraw is not timed
                    page.evaluate("() => { window.bench.armed = false; }")
                    page.keyboard.press("Control+U")
                    page.wait_for_timeout(100)
                    page.evaluate("() => { window.bench.armed = true; window.bench.start = 0; }")
                page.keyboard.press("abcdefghijklmnopqrstuvwxyz"[n % 26])
                page.wait_for_function(f"() => window.bench.times.length > {n}", polling=1)
            return page.evaluate("() => window.bench.times")
        finally:
            browser.close()


# 2. sessions held ------------------------------------------------------------------------------


def prompt(client: Client) -> bool:
    return b"$ " in client.output or b"# " in client.output


def hold_sessions(bench: Bench, sessions: int, hold: float) -> tuple[list[Client], list[str]]:
    """Open ``sessions`` terminals in batches, each answering an echo; (clients, failures)."""
    origin = bench.stack.web_url.rstrip("/")
    owners = [bench.users[n // PER_USER] for n in range(sessions)]
    cookies = {user: bench.cookie(bench.tokens[user]) for user in set(owners)}
    clients: list[Client] = []
    failures: list[str] = []
    for start in range(0, sessions, BATCH):
        batch = []
        for n in range(start, min(start + BATCH, sessions)):
            try:
                client = Client(bench.stack.web_port, DEVICE, cookies[owners[n]], origin)
                client.send_json({"size": [80, 24]})
                batch.append((n, client))
            except Exception as problem:  # counted, not fatal: the figure is how many fail
                failures.append(f"session {n}: {problem}")
        for n, client in batch:
            try:
                client.read_until(lambda c=client: prompt(c), 30)
                client.send_bytes(f"echo held-{n}\r".encode())
                client.read_until(lambda c=client, n=n: f"held-{n}\r\n".encode() in c.output, 15)
                clients.append(client)
            except AssertionError as problem:
                failures.append(f"session {n}: {problem}")
    time.sleep(hold)
    for n, client in enumerate(clients):
        try:
            client.send_bytes(f"echo again-{n}\r".encode())
            client.read_until(lambda c=client, n=n: f"again-{n}\r\n".encode() in c.output, 15)
        except (AssertionError, OSError) as problem:
            failures.append(f"session {n} after holding: {problem}")
    return clients, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keystrokes", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--hold", type=float, default=10, help="seconds the sessions stay open")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"bench: {CHROMIUM} not found (dev/setup installs Debian's chromium)")

    console = Console(width=120)
    home = Path(tempfile.mkdtemp(prefix="webbench-"))
    bench = Bench(home, users=-(-args.sessions // PER_USER))
    try:
        console.print(
            f"load average {load_average()}; starting supervisor run graphs/device-proxy.toml --profile web …"
        )
        bench.start()
        web_pid = bench.web_pid()
        console.print(
            f"web terminal pid {web_pid} on :{bench.stack.web_port}, proxy :{bench.stack.proxy_port}"
        )

        times = keystroke_echo(bench, args.keystrokes)
        median, p99 = statistics.median(times), percentile(times, 0.99)
        console.print(f"keystrokes: {len(times)} timed, load average {load_average()}")

        before = rss_kb(web_pid)
        clients, failures = hold_sessions(bench, args.sessions, args.hold)
        with_open = rss_kb(web_pid)
        for client in clients:
            client.close()
        for failure in failures[:5]:
            console.print(f"  failure: {failure}")
        console.print(f"sessions: {len(clients)} held, {len(failures)} failures, load average {load_average()}")

        table = Table(
            title="Web terminal: chromium -> web terminal -> SSH proxy (2 workers) -> sshd, 127.0.0.1"
        )
        for column in ("figure", "measured", "target", "met"):
            table.add_column(column, justify="left" if column in ("figure", "target") else "right")
        table.add_row(
            f"keystroke echo, median of {len(times)} (ms)",
            f"{median:.1f}",
            "< 20 ms",
            "yes" if median < 20 else "NO",
        )
        table.add_row(f"keystroke echo, p99 of {len(times)} (ms)", f"{p99:.1f}", "", "")
        ok = not failures and len(clients) == args.sessions
        table.add_row(
            f"sessions held {args.hold:g}s at once",
            f"{len(clients)} of {args.sessions}",
            "all",
            "yes" if ok else "NO",
        )
        table.add_row("failures", str(len(failures)), "0", "yes" if not failures else "NO")
        per_session = (with_open - before) / max(1, len(clients))
        table.add_row("web terminal memory per open session (KB)", f"{per_session:.0f}", "", "")
        console.print(table)
        console.print(f"load average at the end: {load_average()} (1, 5, 15 min; 2 cores, shared)")
        console.print(
            "ttyd: not compared (no package in Debian bookworm: apt-cache policy ttyd has no candidate)"
        )
        return 0 if median < 20 and ok else 1
    finally:
        bench.stop()


if __name__ == "__main__":
    raise SystemExit(main())
