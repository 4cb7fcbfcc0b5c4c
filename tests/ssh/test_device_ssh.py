"""device-ssh proven from outside under the real supervisor, and what the metrics endpoint says.

``supervisor run graphs/device-proxy.toml --profile cli-ssh --metrics HOST:PORT`` with a canary
device: ssh-probe (``services.ssh_probe``) provides device-ssh and checks it every 10 s. When SSH
through the proxy breaks, the capability is lost with the proxy's own line as the check's output
in ``status``, the metrics say so, and it comes back by itself once SSH works again; the workers
are not restarted for it. The proxy workers' counters come out of the same endpoint.
"""

import os
import signal
import subprocess
from pathlib import Path

import attrs
import pytest

from examples.demo.stack import GRAPH, PROFILE, Stack, capability, wait_until
from services.ssh_proxy.errors import NO_IDENTITIES
from tests.helpers.metrics import scrape
from tests.helpers.net import free_port
from tests.helpers.services import keygen
from tests.helpers.supervisor import Supervisor
from tests.ssh.conftest import SSHD
from tests.ssh.proxy_stack import CLIENT_OPTIONS

REPLICAS = ("ssh-proxy@1", "ssh-proxy@2")


@attrs.frozen
class Observed:
    stack: Stack
    run: Supervisor
    metrics_port: int
    canary: object  # the conftest's SSHDevice
    user_key: Path

    def scrape(self) -> dict[tuple[str, tuple], float]:
        return scrape(self.metrics_port)

    def metric(self, name: str, **labels: str) -> float:
        return self.scrape().get((name, tuple(sorted(labels.items()))), 0.0)

    def device_ssh(self) -> dict:
        return capability(Path(self.run.control), "device-ssh")

    def lost_with(self, line: str, count: int = 1) -> dict:
        """Wait for device-ssh to be lost for the ``count``-th time, saying ``line``; the event."""
        lost = self.run.wait_event("ssh-probe", "lost", count=count, timeout=45)
        assert lost["message"].startswith(
            "capability device-ssh lost: check failed (exec python -m services.ssh_probe"
        )
        assert lost["message"].endswith(f": ssh_probe: {line}")
        return lost

    def worker_pids(self) -> dict[str, int]:
        return {s["unit"]: s["pid"] for s in self.run.status()["services"] if s["unit"] in REPLICAS}

    def restart_canary(self) -> None:
        """The canary's sshd again: its config, port and host key (sshd_device's files)."""
        config = self.canary.log.parent / "sshd_config"
        with self.canary.log.open("a") as log:
            self.canary.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=log)


@pytest.fixture
def observed(tmp_path, sshd_device):
    stack = Stack(tmp_path / "stack", free_port())
    canary = sshd_device([stack.identity("ed25519")])
    stack.fresh_registry()
    (tmp_path / "canary.pub").write_text(canary.host_key + "\n")
    stack.add_canary(canary.port, canary.login, tmp_path / "canary.pub")
    user_key, _ = keygen(tmp_path, "ed25519", "alice")
    stack.add_user("alice", Path(f"{user_key}.pub"))
    stack.registry("grant", "alice", "canary")
    port = free_port()
    run = Supervisor(tmp_path, GRAPH, "--profile", PROFILE, "--metrics", f"127.0.0.1:{port}", env=stack.env())
    try:
        run.wait_event("ssh-probe", "available", timeout=90)
        yield Observed(stack, run, port, canary, user_key)
    finally:
        assert run.stop(60) == 0
        canary.stop()
        assert run.leftovers() == []


def test_canary_down_loses_device_ssh_with_the_proxy_s_line_until_it_is_back(observed):
    workers = observed.worker_pids()
    assert observed.metric("supervisor_capability_available", capability="device-ssh") == 1
    observed.canary.stop()
    line = f"device canary is offline or unreachable (127.0.0.1:{observed.canary.port}: connection refused)"
    observed.lost_with(line)
    entry = observed.device_ssh()
    assert entry["state"] in ("lost", "unavailable") and entry["last_check"]["output"] == f"ssh_probe: {line}"
    wait_until(  # status shows it for the unit too, once its re-run has failed the same way
        lambda: f"ssh_probe: {line}" in observed.run.unit_status("ssh-probe")["output"],
        timeout=30,
        what="the probe's line in the unit's output",
    )
    assert observed.metric("supervisor_capability_available", capability="device-ssh") == 0
    assert observed.metric("supervisor_capability_check_failures_total", capability="device-ssh") >= 1
    assert observed.metric("ssh_proxy_sessions_total", result="device-unreachable") >= 1

    observed.restart_canary()  # device-ssh comes back by itself: the probe is never parked
    observed.run.wait_event("ssh-probe", "available", count=2, timeout=60)
    assert observed.metric("supervisor_capability_available", capability="device-ssh") == 1
    assert observed.worker_pids() == workers  # nobody's sessions were cut for it


def test_agent_emptied_with_its_loader_gone_loses_device_ssh(observed):
    """The incident itself: nothing puts the keys back. The end-to-end check names it."""
    assert observed.run.ctl("stop", "key-loader").returncode == 0
    env = {**os.environ, "SSH_AUTH_SOCK": str(observed.run.runtime_dir / "agent.sock")}
    subprocess.run(["ssh-add", "-D"], env=env, check=True, capture_output=True, timeout=10)
    observed.lost_with(NO_IDENTITIES)
    assert observed.metric("ssh_proxy_sessions_total", result="no-identity-keys") >= 1
    assert observed.metric("supervisor_capability_available", capability="device-ssh") == 0

    assert observed.run.ctl("start", "key-loader").returncode == 0
    observed.run.wait_event("ssh-probe", "available", count=2, timeout=60)


def test_hung_workers_lose_device_ssh(observed):
    """Workers that stop answering (SIGSTOP): connections queue on the socket, the probe times out."""
    workers = observed.worker_pids()
    for pid in workers.values():
        os.kill(pid, signal.SIGSTOP)
    try:
        observed.lost_with(f"no session through 127.0.0.1:{observed.stack.proxy_port} within 10s")
        assert observed.metric("supervisor_capability_available", capability="device-ssh") == 0
    finally:
        for pid in workers.values():
            os.kill(pid, signal.SIGCONT)
    observed.run.wait_event("ssh-probe", "available", count=2, timeout=60)


def test_a_killed_worker_is_restarted_and_device_ssh_holds(observed):
    """SIGKILL of one worker: the other serves the shared socket meanwhile, so the probe goes on
    passing (no loss), and the restart shows in the metrics."""
    workers = observed.worker_pids()
    checks = "supervisor_capability_check_duration_seconds_count"
    before = observed.metric(checks, capability="device-ssh")
    os.kill(workers["ssh-proxy@1"], signal.SIGKILL)
    observed.run.wait_event("ssh-proxy@1", "ready", count=2, timeout=30)
    wait_until(  # the next check after the kill (every 10 s) has run
        lambda: observed.metric(checks, capability="device-ssh") >= before + 1, timeout=30, what="a check"
    )
    assert observed.metric("supervisor_capability_available", capability="device-ssh") == 1
    assert observed.metric("supervisor_capability_check_failures_total", capability="device-ssh") == 0
    restarts = {"unit": "ssh-proxy@1", "service": "ssh-proxy"}
    assert observed.metric("supervisor_unit_restarts_total", **restarts) == 1
    assert observed.run.events(event="lost") == []
    assert observed.worker_pids()["ssh-proxy@2"] == workers["ssh-proxy@2"]


def test_the_workers_metrics(observed):
    """Sessions open and by result, bytes each way, handshake and device set-up: both workers'."""
    before = observed.scrape()
    ssh = ["ssh", *CLIENT_OPTIONS, *observed.stack.ssh_options(observed.user_key), "alice+canary@127.0.0.1"]
    held = subprocess.Popen([*ssh, "cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        held.stdin.write(b"x" * 1000)
        held.stdin.flush()
        assert held.stdout.read(1000) == b"x" * 1000  # the session is set up and relaying
        wait_until(
            lambda: observed.metric("ssh_proxy_sessions_open") >= 1, timeout=10, what="an open session"
        )
    finally:
        held.stdin.close()
        held.wait(30)
    refused = subprocess.run(
        [*ssh[:-1], "alice+not-granted@127.0.0.1", "true"], capture_output=True, timeout=30
    )
    assert refused.returncode == 255

    def grown(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return observed.scrape().get(key, 0.0) - before.get(key, 0.0)

    wait_until(
        lambda: grown("ssh_proxy_sessions_total", result="unknown-device") == 1,
        timeout=30,
        what="the refusal counted",
    )
    assert grown("ssh_proxy_sessions_total", result="ok") >= 1  # alice's, and the probe's meanwhile
    assert grown("ssh_proxy_bytes_total", direction="to_device") >= 1000
    assert grown("ssh_proxy_bytes_total", direction="to_user") >= 1000
    assert grown("ssh_proxy_handshake_seconds_count") >= 2
    assert grown("ssh_proxy_device_setup_seconds_count") >= 1
    assert observed.metric("ssh_proxy_sessions_open") == 0
