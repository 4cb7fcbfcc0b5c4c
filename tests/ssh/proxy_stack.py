"""A proxy worker between real OpenSSH clients and real sshd devices, for the proxy's tests.

``stack`` gives: an ssh-agent holding the proxy's identity, a registry with user ``alice``, and a
worker listening on 127.0.0.1. ``stack.device()`` starts an sshd that trusts the proxy's key and
registers it; ``stack.ssh(login, ...)`` runs the real ``ssh`` client against the worker.
"""

import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from examples.demo.stack import ROOT, stop_process, wait_until
from tests.helpers.net import accepts_ssh, free_port
from tests.helpers.services import keygen, run_service

CLIENT_OPTIONS = (
    "-F", "/dev/null",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes",
    "-o", "LogLevel=ERROR",
)  # fmt: skip


def no_access(uuid: str) -> str:
    """The one line for a device alice may not reach, whether or not it exists."""
    return f"user alice has no access to device {uuid} (unknown device, or not authorised)"


def assert_refused(result: subprocess.CompletedProcess, line: str) -> None:
    """The proxy's answer to a failure: exactly ``line`` on stderr, nothing on stdout, status 255."""
    assert (result.returncode, result.stderr.decode(), result.stdout) == (255, line + "\n", b"")


# The stack's worker holds a user for only this long while the agent has no keys (the default, 10 s,
# would make each test of the line the user then gets wait that long).
HOLD = ("--hold-timeout", "1")


def add_to_agent(agent: str, private: Path) -> None:
    env = {"SSH_AUTH_SOCK": agent, "PATH": os.environ["PATH"]}
    subprocess.run(["ssh-add", str(private)], env=env, check=True, capture_output=True, timeout=10)


def empty_agent(agent: str) -> None:
    env = {"SSH_AUTH_SOCK": agent, "PATH": os.environ["PATH"]}
    subprocess.run(["ssh-add", "-D"], env=env, check=True, capture_output=True, timeout=10)


def start_worker(agent: str, db: Path, host_keys: Path, port: int, *options: str, **popen) -> subprocess.Popen:
    """A worker on 127.0.0.1:``port``; ``options`` are more of its arguments (limits, log level)."""
    command = [sys.executable, "-m", "services.ssh_proxy", "--agent", agent, "--registry", str(db)]
    command += ["--host-keys", str(host_keys), "--listen", f"127.0.0.1:{port}", *options]
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(command, cwd=ROOT, text=True, **popen)


@attrs.frozen
class Registered:
    uuid: str
    sshd: object  # the conftest's SSHDevice


@attrs.define
class Stack:
    tmp: Path
    agent: str
    db: Path
    user_key: Path
    identity: str  # the proxy's public identity line, trusted by every device
    port: int
    worker: subprocess.Popen
    sshd_device: object
    devices: int = 0

    def registry(self, *args: str) -> None:
        result = run_service("registry", "--db", str(self.db), *args)
        assert result.returncode == 0, result.stderr

    def device(self, uuid: str | None = None, pin: bool = True, grant: bool = True, **fixture):
        """An sshd trusting the proxy's identity, registered (pinned) and granted to alice."""
        fixture.setdefault("authorized_key_lines", [self.identity])
        device = self.sshd_device(**fixture)
        self.devices += 1
        uuid = uuid or f"device{self.devices}"
        host_key = self.tmp / f"{uuid}.pub"
        host_key.write_text(device.host_key + "\n")
        how = ["--host-key", str(host_key)] if pin else ["--tofu"]
        self.registry(
            "add-device",
            uuid,
            "--address",
            "127.0.0.1",
            "--port",
            str(device.port),
            "--login",
            device.login,
            *how,
        )
        if grant:
            self.registry("grant", "alice", uuid)
        return Registered(uuid, device)

    def ssh_args(self, login: str, *command: str, options: tuple[str, ...] = ()) -> list[str]:
        """``ssh [options] LOGIN@proxy COMMAND...`` with the real client and the user's key."""
        args = ["ssh", *CLIENT_OPTIONS, "-i", str(self.user_key), "-p", str(self.port), *options]
        return [*args, f"{login}@127.0.0.1", *command]

    def ssh(self, login: str, *command: str, options: tuple[str, ...] = (), timeout: float = 30, **run):
        """Run ``ssh_args`` to the end; CompletedProcess."""
        run.setdefault("capture_output", True)
        return subprocess.run(self.ssh_args(login, *command, options=options), timeout=timeout, **run)

    def popen(self, login: str, *command: str, options: tuple[str, ...] = ()) -> subprocess.Popen:
        """Start ``ssh_args`` with pipes on stdin, stdout and stderr; the caller stops it."""
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        return subprocess.Popen(self.ssh_args(login, *command, options=options), **pipes)

    def wait_ready(self) -> None:
        wait_for_worker(self.worker, self.port)

    def restart(self, *options: str) -> tuple[Path, Path]:
        """Replace the worker by one started with ``options``: a new port, the same keys and state.

        Its stdout and stderr go to files (returned), not pipes: a verbose worker would fill a pipe
        that nobody reads until the end, and block.
        """
        stop_process(self.worker)
        self.port = free_port()
        output = (self.tmp / "worker.stdout", self.tmp / "worker.stderr")
        with output[0].open("w") as stdout, output[1].open("w") as stderr:
            self.worker = start_worker(
                self.agent, self.db, self.tmp / "host-keys", self.port, *options, stdout=stdout, stderr=stderr
            )
        self.wait_ready()
        return output

    def stop(self) -> str:
        """Stop the worker; its stdout (the audit lines)."""
        stop_process(self.worker)
        return self.worker.stdout.read()


def wait_for_worker(worker: subprocess.Popen, port: int) -> None:
    wait_until(lambda: accepts_ssh(port) or worker.poll() is not None, timeout=15, what="the proxy worker")
    assert worker.poll() is None, worker.stderr.read() if worker.stderr else "the proxy worker exited"


@pytest.fixture
def stack(tmp_path, agent, sshd_device):
    proxy_private, identity = keygen(tmp_path, "ed25519", "proxy_identity")
    add_to_agent(agent, proxy_private)
    user_key, user_public = keygen(tmp_path, "ed25519", "alice")
    db = tmp_path / "registry.sqlite3"
    assert run_service("registry", "--db", str(db), "init").returncode == 0
    assert (
        run_service("registry", "--db", str(db), "add-user", "alice", "--key", f"{user_key}.pub").returncode
        == 0
    )
    port = free_port()
    worker = start_worker(agent, db, tmp_path / "host-keys", port, *HOLD)
    stack = Stack(tmp_path, agent, db, user_key, identity, port, worker, sshd_device)
    try:
        stack.wait_ready()
        yield stack
    finally:
        stop_process(stack.worker)
