"""The real supervisor as a subprocess, on a graph: its JSON event log read as it is written, its
control socket asked for status, and what it started found by the RUNTIME_DIR in their environment.

For the runtime's tests (as the ``supervisor`` fixture, which also stops every run and checks
that nothing is left behind) and for the tests and benches that run the shipped graph.
"""

import json
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from examples.demo.stack import ROOT, wait_until

PY = sys.executable  # the supervisor and the services run on the tests' own Python


class Supervisor:
    def __init__(
        self,
        tmp_path: Path,
        graph: str | Path,
        *args: str,
        prefix: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ):
        """Run ``graph``: a graph's text (written to a file here), or a graph file run as it is."""
        self.tmp = tmp_path
        if isinstance(graph, Path):
            self.graph = graph
        else:
            self.graph = tmp_path / "graph.toml"
            self.graph.write_text(textwrap.dedent(graph))
        self.runtime_dir = tmp_path / "rt"
        self.records: list[dict] = []
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [
                *prefix,
                sys.executable,
                "-m",
                "supervisor",
                "run",
                str(self.graph),
                "--runtime-dir",
                str(self.runtime_dir),
                "--log-format",
                "json",
                *args,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            try:
                self.records.append(json.loads(line))
            except ValueError:
                pass

    @property
    def control(self) -> str:
        return str(self.runtime_dir / "control.sock")

    def events(self, unit: str | None = None, event: str | None = None) -> list[dict]:
        return [
            r
            for r in list(self.records)
            if "event" in r and (unit is None or r["unit"] == unit) and (event is None or r["event"] == event)
        ]

    def output(self, unit: str) -> list[str]:
        return [r["line"] for r in list(self.records) if r.get("unit") == unit and "line" in r]

    def wait_event(self, unit: str, event: str, timeout: float = 30.0, count: int = 1) -> dict:
        """The ``count``-th ``event`` of ``unit``, once logged; fails with the log's end if it is not
        logged within ``timeout`` seconds or the supervisor has exited without it."""

        def logged() -> dict | None:
            found = self.events(unit, event)
            if len(found) >= count:
                return found[count - 1]
            if self.process.poll() is not None and not self._reader.is_alive():
                what = f"the supervisor exited before {event!r} #{count} for {unit}"
                raise AssertionError(f"{what}:\n{self.tail()}")
            return None

        try:
            return wait_until(logged, timeout, f"{event!r} #{count} for {unit}")
        except TimeoutError as late:
            raise AssertionError(f"{late}:\n{self.tail()}") from None

    def tail(self, lines: int = 40) -> str:
        """The last lines the supervisor wrote, for a failure's message."""
        return "".join(self.lines[-lines:])

    def index(self, unit: str, event: str) -> int:
        """Position of the first such event in the whole log (for ordering assertions)."""
        for i, r in enumerate(list(self.records)):
            if r.get("unit") == unit and r.get("event") == event:
                return i
        raise AssertionError(f"no {event!r} for {unit}")

    def ctl(self, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
        return subprocess.run(
            [PY, "-m", "supervisor", *args, "--control", self.control],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def status(self) -> dict:
        result = self.ctl("status", "--json")
        assert result.returncode in (0, 1), result.stderr  # 1: healthy it is not, and says why
        return json.loads(result.stdout)

    def unit_status(self, unit: str) -> dict:
        return next(s for s in self.status()["services"] if s["unit"] == unit)

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float = 15.0) -> int:
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def leftovers(self) -> list[int]:
        """Processes still running that the supervisor started (they carry our RUNTIME_DIR)."""
        marker = f"RUNTIME_DIR={self.runtime_dir.resolve()}".encode()
        found = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                if marker in environ.read_bytes().split(b"\0"):
                    found.append(int(environ.parent.name))
            except OSError:
                continue
        return found
