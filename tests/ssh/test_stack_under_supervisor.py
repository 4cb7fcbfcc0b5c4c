"""The whole SSH stack as it is deployed: ``supervisor run graphs/device-proxy.toml --profile cli-ssh``.

The other proxy tests run one worker by hand; these run the real graph under the real supervisor
(set up as the demo does, through ``examples/demo/stack.py``), so what they prove is what the
supervisor adds: keys loaded by key-loader and put back when the agent loses them, two replicas
sharing the supervisor's listening socket, a killed replica restarted while the other serves,
and the incident's graph refused before anything starts. Devices are real sshd, users the real
``ssh`` client.
"""

import os
import signal
import subprocess
from pathlib import Path

import attrs
import pytest

from examples.demo.stack import (
    PROFILE,
    ROOT,
    Stack,
    stop_process,
    wait_until,
)
from tests.helpers.deployed import REPLICAS, Deployed
from tests.helpers.net import free_port
from tests.helpers.services import keygen, read_line
from tests.helpers.supervisor import Supervisor
from tests.ssh.proxy_stack import CLIENT_OPTIONS, Registered


@attrs.define
class Supervised:
    """The stack deployed, with user ``alice`` registered, and devices made for it."""

    deployed: Deployed
    user_key: Path
    sshd_device: object  # the conftest's factory
    devices: int = 0

    @property
    def stack(self) -> Stack:
        return self.deployed.stack

    @property
    def run(self) -> Supervisor:
        return self.deployed.run

    def device(self, *trusted: str) -> Registered:
        """An sshd trusting the proxy identities ``trusted``, registered and granted to alice."""
        sshd = self.sshd_device(list(trusted))
        self.devices += 1
        uuid = f"device{self.devices}"
        host_key = self.stack.home / f"{uuid}.pub"
        host_key.write_text(sshd.host_key + "\n")
        self.stack.add_device(uuid, sshd.port, sshd.login, host_key, users=("alice",))
        return Registered(uuid, sshd)

    def ssh_args(self, login: str, *command: str) -> list[str]:
        return [
            "ssh",
            *CLIENT_OPTIONS,
            *self.stack.ssh_options(self.user_key),
            f"{login}@127.0.0.1",
            *command,
        ]

    def ssh(self, login: str, *command: str, **run) -> subprocess.CompletedProcess:
        run.setdefault("capture_output", True)
        return subprocess.run(self.ssh_args(login, *command), timeout=30, **run)


def add_canary(stack: Stack, sshd_device) -> None:
    """An sshd trusting the proxy's Ed25519 identity, registered as the canary ssh-probe reaches."""
    canary = sshd_device([stack.identity("ed25519")])
    host_key = stack.home / "canary.pub"
    host_key.write_text(canary.host_key + "\n")
    stack.add_canary(canary.port, canary.login, host_key)


@pytest.fixture
def proxy(tmp_path, sshd_device, supervisor) -> Supervised:
    """The graph running in profile cli-ssh, with Ed25519 and RSA proxy identities in KEYS_DIR."""
    stack = Stack(tmp_path / "stack", free_port())
    stack.identity("ed25519")
    stack.identity("rsa")
    user_key, _ = keygen(tmp_path, "ed25519", "alice")
    stack.fresh_registry()
    stack.add_user("alice", Path(f"{user_key}.pub"))
    add_canary(stack, sshd_device)
    deployed = Deployed.start(stack, PROFILE, REPLICAS, supervisor, timeout=30)
    return Supervised(deployed, user_key, sshd_device)


def test_exec_with_exit_status_in_both_routing_forms(proxy):
    device = proxy.device(proxy.stack.identity("ed25519"))
    result = proxy.ssh(f"alice+{device.uuid}", "cat; echo to-stderr >&2; exit 7", input=b"from stdin\n")
    assert (result.returncode, result.stdout, result.stderr) == (7, b"from stdin\n", b"to-stderr\n")
    result = proxy.ssh("alice", "host", device.uuid, "echo balena; exit 5")
    assert (result.returncode, result.stdout, result.stderr) == (5, b"balena\n", b"")
    wait_until(lambda: len(proxy.deployed.audit()) == 2, 10, "an audit line per session")
    audit = proxy.deployed.audit()
    assert {(a["user"], a["device"], a["result"]) for a in audit} == {("alice", device.uuid, "ok")}


def test_device_trusting_only_the_rsa_identity(proxy):
    """The Ed25519 identity is offered first and refused; the RSA one must sign rsa-sha2."""
    device = proxy.device(proxy.stack.identity("rsa"))
    result = proxy.ssh(f"alice+{device.uuid}", "echo via-rsa")
    assert (result.returncode, result.stdout) == (0, b"via-rsa\n"), result.stderr
    assert ": RSA SHA256:" in device.sshd.log.read_text()


def test_emptied_agent_is_reported_repaired_at_once_and_the_user_held_through_it(proxy):
    """The incident's fault with its key loader in place: the worker that meets the empty agent
    holds the user, reports ssh-identity-keys broken, the supervisor checks it at once and re-runs
    key-loader, and the user's command runs: nobody sees a failure."""
    device = proxy.device(proxy.stack.identity("ed25519"))
    assert proxy.ssh(f"alice+{device.uuid}", "true").returncode == 0
    env = {**os.environ, "SSH_AUTH_SOCK": str(proxy.run.runtime_dir / "agent.sock")}
    subprocess.run(["ssh-add", "-D"], env=env, check=True, capture_output=True, timeout=10)
    result = proxy.ssh(f"alice+{device.uuid}", "echo repaired")
    assert (result.returncode, result.stdout) == (0, b"repaired\n"), result.stderr

    requested = proxy.run.wait_event("key-loader", "check-requested")
    assert "ssh-identity-keys reported broken by ssh-proxy@" in requested["message"]
    lost = proxy.run.wait_event("key-loader", "lost")
    assert lost["message"].startswith("capability ssh-identity-keys lost: check failed")
    assert "no longer holds 2 of 2 keys" in lost["message"]
    proxy.run.wait_event("key-loader", "starting", count=2)  # re-run at once, no backoff
    held = wait_until(
        lambda: [a for a in proxy.deployed.audit() if a.get("held_ms", 0) > 0], 10, "the held session's line"
    )
    assert [(a["result"], a["held_for"]) for a in held] == [("ok", "ssh-identity-keys")]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _tcp_ports(inodes: set[str]) -> set[tuple[int, int]]:
    """(local port, remote port) of the IPv4 TCP sockets among ``inodes``."""
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] in inodes:
            ports.add((int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)))
    return ports


def _worker_serving(client: subprocess.Popen, proxy_port: int, workers: dict[str, int]) -> str:
    """Which replica holds the ssh client's connection: the one whose socket mirrors its ports."""
    (client_port,) = [
        local for local, remote in _tcp_ports(_socket_inodes(client.pid)) if remote == proxy_port
    ]
    for unit, pid in workers.items():
        if (proxy_port, client_port) in _tcp_ports(_socket_inodes(pid)):
            return unit
    raise AssertionError(f"no worker holds the connection from port {client_port}")


def test_killed_worker_is_restarted_while_the_other_serves(proxy):
    device = proxy.device(proxy.stack.identity("ed25519"))
    workers = proxy.deployed.pids("ssh-proxy")
    sessions: dict[str, subprocess.Popen] = {}  # one open session on each replica
    opened: list[subprocess.Popen] = []
    try:
        while len(sessions) < len(REPLICAS):
            assert len(opened) < 12, f"every session went to {set(sessions)}"
            session = subprocess.Popen(
                proxy.ssh_args(f"alice+{device.uuid}", "echo ready; cat; echo done"),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            opened.append(session)
            assert read_line(session) == b"ready\n"
            sessions.setdefault(_worker_serving(session, proxy.stack.proxy_port, workers), session)

        victim, survivor = REPLICAS
        os.kill(workers[victim], signal.SIGKILL)
        assert sessions[victim].wait(15) == 255  # its sessions die with it

        result = proxy.ssh(f"alice+{device.uuid}", "echo while-restarting")
        assert (result.returncode, result.stdout) == (0, b"while-restarting\n"), result.stderr
        kept = sessions[survivor]
        kept.stdin.write(b"still here\n")
        kept.stdin.close()
        assert (read_line(kept), read_line(kept), kept.wait(15)) == (b"still here\n", b"done\n", 0)

        proxy.run.wait_event(victim, "ready", count=2, timeout=15)
        restarted = proxy.deployed.pids("ssh-proxy")
        assert restarted[victim] != workers[victim] and restarted[survivor] == workers[survivor]
        for n in range(4):  # the listening socket survived: both replicas accept on it
            result = proxy.ssh(f"alice+{device.uuid}", f"echo after-{n}")
            assert (result.returncode, result.stdout) == (0, f"after-{n}\n".encode()), result.stderr
    finally:
        for session in opened:
            stop_process(session)


def test_incident_graph_is_refused_and_nothing_starts(supervisor, tmp_path):
    stack = Stack(tmp_path / "stack", free_port())
    incident = ROOT / "graphs" / "incident-2026-02-26.toml"
    run = supervisor(incident, "--profile", PROFILE, env=stack.env())
    assert run.wait(30) == 78
    report = run.process.stderr.read()
    assert "error missing-provider (profile cli-ssh)" in report
    assert "ssh-proxy requires ssh-identity-keys, but its provider web-terminal is switched off" in report
    assert not run.runtime_dir.exists() and not stack.home.exists()
    assert run.leftovers() == [] and run.events() == []
