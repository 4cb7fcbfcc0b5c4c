"""``supervisor top`` in a real terminal: tmux runs it at 80x24 and at 160x50, capture-pane reads
the screen as a person would see it."""

import os
import shlex
import signal
import subprocess
import time

import pytest

from examples.demo.stack import ROOT
from tests.helpers.supervisor import PY
from tests.runtime.test_top import GRAPH


class Tmux:
    """One tmux server of the test's own (its socket in the test's directory)."""

    def __init__(self, socket: str):
        self.socket = socket

    def __call__(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True, timeout=20)
        assert result.returncode == 0, f"tmux {args[0]}: {result.stderr}"
        return result.stdout

    def running(self) -> bool:
        return (
            subprocess.run(
                ["tmux", "-S", self.socket, "has-session", "-t", "top"], capture_output=True
            ).returncode
            == 0
        )

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "top")

    def wait_for(self, *texts: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{texts} not on the screen within {timeout}s:\n{self.screen()}")


def states(screen: str) -> dict[str, str]:
    """Unit -> the state its row shows (the first two words of each unit's row)."""
    rows = [line.split() for line in screen.splitlines()]
    return {row[0]: row[1] for row in rows if len(row) > 1 and row[0] in ("db", "worker", "web")}


@pytest.mark.parametrize("width, height", [(80, 24), (160, 50)])
def test_top_in_a_real_terminal(supervisor, tmp_path, width, height):
    sup = supervisor(GRAPH)
    sup.wait_event("web", "ready")
    tmux = Tmux(str(tmp_path / "tmux.sock"))
    # tmux started without a terminal gives the pane COLUMNS=80 and LINES=24, which Textual would
    # believe over the pane's real size: the program sees only the terminal, as it would in a shell
    top = [PY, "-m", "supervisor", "top", "--control", sup.control, "--interval", "0"]
    command = shlex.join(["env", "-u", "COLUMNS", "-u", "LINES", *top])
    tmux("new-session", "-d", "-s", "top", "-x", str(width), "-y", str(height), "-c", str(ROOT), command)
    try:
        screen = tmux.wait_for("graph shop", "3 ready", "q quit")
        lines = screen.splitlines()
        assert len(lines) == height and all(len(line) <= width for line in lines)
        assert states(screen) == {"db": "ready", "worker": "ready", "web": "ready"}
        assert ("last exit" in screen) == (width >= 110)  # a wide terminal gets the wider table
        os.kill(sup.unit_status("worker")["pid"], signal.SIGKILL)
        screen = tmux.wait_for("not healthy: worker is failed: killed by SIGKILL")
        assert states(screen)["worker"] == "failed"
        tmux("send-keys", "-t", "top", "q")
        deadline = time.monotonic() + 20
        while tmux.running() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not tmux.running(), "q did not quit"
    finally:
        subprocess.run(["tmux", "-S", tmux.socket, "kill-server"], capture_output=True, timeout=20)
    assert sup.stop() == 0
