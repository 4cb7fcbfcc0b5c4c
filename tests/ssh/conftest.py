"""Real OpenSSH peers for the SSH stack's tests: ssh-agent, and sshd devices.

Fixtures (``agent``, and ``sshd_device`` with the :class:`SSHDevice` it starts), shared with the
web terminal's tests; the helpers they are made of are in ``tests/helpers``. Every wait is
bounded, and every process started here is stopped at teardown.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import attrs
import pytest

from examples.demo.stack import stop_process, wait_until
from tests.helpers.net import accepts_ssh, free_port
from tests.helpers.postgres import postgres_cluster, postgres_url  # noqa: F401 (fixtures)
from tests.helpers.services import keygen

SSHD = "/usr/sbin/sshd"  # sshd refuses to re-exec itself unless started by absolute path


def start_agent(sock: Path) -> subprocess.Popen:
    """A real ``ssh-agent -D -a SOCK``, once its socket is there; the caller stops it."""
    process = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(sock.exists, timeout=10, what="ssh-agent socket")
    except BaseException:
        stop_process(process)
        raise
    return process


@pytest.fixture
def agent(tmp_path):
    """A real ``ssh-agent -D -a SOCK``; yields the socket path."""
    sock = tmp_path / "agent.sock"
    process = start_agent(sock)
    try:
        yield str(sock)
    finally:
        stop_process(process)


@attrs.define
class SSHDevice:
    """A running sshd standing in for a device; ``login`` is the user the tests run as."""

    port: int
    host_key: str  # public host key line
    host_key_path: Path  # its private key, for tests that need another sshd with the same key
    log: Path  # sshd's own log (LogLevel VERBOSE): which key logged in, why one was refused
    process: subprocess.Popen
    address: str = "127.0.0.1"
    login: str = attrs.field(factory=lambda: os.environ.get("USER") or "root")

    def stop(self) -> None:
        stop_process(self.process)

    def drop_sessions(self) -> None:
        """SIGKILL every process sshd started (its sessions and their commands); it keeps listening.

        What a device that crashes or loses its network looks like from the other end: the
        connection ends with no SSH disconnect message.
        """
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):  # the process ended meanwhile
                continue
            children.setdefault(parent, []).append(int(stat.parent.name))
        pending = list(children.get(self.process.pid, []))
        while pending:
            pid = pending.pop()
            pending += children.get(pid, [])
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def sshd_device(tmp_path):
    """Factory: ``sshd_device(authorized_key_lines)`` starts an sshd on 127.0.0.1 at a free port.

    ``config`` lines come first: sshd takes the first value it reads for each keyword.
    """
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    started: list[SSHDevice] = []

    def start(authorized_key_lines, host_key_kind: str = "ed25519", config: str = "") -> SSHDevice:
        home = tmp_path / f"sshd{len(started)}"
        home.mkdir()
        host_key_path, host_key = keygen(home, host_key_kind, "host_key")
        (home / "authorized_keys").write_text("".join(f"{line}\n" for line in authorized_key_lines))
        for _ in range(5):  # a free port may be taken again before sshd binds it
            port = free_port()
            config_file = home / "sshd_config"
            config_file.write_text(
                config + f"ListenAddress 127.0.0.1:{port}\n"
                f"HostKey {host_key_path}\n"
                f"AuthorizedKeysFile {home / 'authorized_keys'}\n"
                "StrictModes no\nUsePAM no\nPidFile none\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nPermitRootLogin yes\nAllowTcpForwarding yes\n"
                "Subsystem sftp internal-sftp\nLogLevel VERBOSE\nAcceptEnv LANG LC_*\n"
            )
            log = home / "sshd.log"  # a file, not a pipe: a pipe nobody reads would stall sshd
            with log.open("w") as log_file:
                process = subprocess.Popen(
                    [SSHD, "-D", "-e", "-f", str(config_file)], stdout=subprocess.DEVNULL, stderr=log_file
                )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and process.poll() is None and not accepts_ssh(port):
                time.sleep(0.05)
            if process.poll() is None and accepts_ssh(port):
                device = SSHDevice(port, host_key, host_key_path, log, process)
                started.append(device)
                return device
            stop_process(process)
            error = log.read_text(errors="replace")
            if "Address already in use" not in error:
                raise AssertionError(f"sshd did not start on port {port}:\n{error}")
        raise AssertionError("sshd found no free port in 5 tries")

    yield start
    for device in started:
        device.stop()
