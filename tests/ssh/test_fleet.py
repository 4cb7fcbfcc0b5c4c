"""Two proxy pods on one PostgreSQL registry: what is registered, pinned or revoked through one
holds in the other.

Each pod is the real ``supervisor run graphs/device-proxy.toml --profile cli-ssh`` (its own
agent, key loader, workers and port), as a Kubernetes Deployment's pods would be: the proxy's
identity keys and host keys are the same files in both (Secrets there), and REGISTRY is the
same ``postgresql://`` URL. The PostgreSQL server is Debian's, started by ``tests.helpers.postgres``.
"""

import shutil
import subprocess
from pathlib import Path

import attrs
import pytest
from twisted.conch.ssh import keys

from examples.demo.stack import GRAPH, PROFILE, Stack, stop_process
from services.shared import sshkeys
from services.ssh_proxy import errors, hostkeys
from tests.helpers.net import free_port
from tests.helpers.services import keygen
from tests.helpers.supervisor import Supervisor
from tests.ssh.proxy_stack import CLIENT_OPTIONS, assert_refused, no_access
from tests.ssh.tcp_relay import TcpRelay


@attrs.frozen
class Pod:
    stack: Stack
    run: Supervisor

    def ssh(self, user_key: Path, login: str, *command: str) -> subprocess.CompletedProcess:
        args = ["ssh", *CLIENT_OPTIONS, *self.stack.ssh_options(user_key), f"{login}@127.0.0.1", *command]
        return subprocess.run(args, capture_output=True, timeout=30)

    def host_key(self) -> str:
        """The host key the pod's proxy presents (ssh-keyscan), as "TYPE BASE64"."""
        scan = subprocess.run(
            ["ssh-keyscan", "-t", "ed25519", "-p", str(self.stack.proxy_port), "127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return " ".join(scan.stdout.split()[1:3])


@pytest.fixture
def pods(tmp_path, postgres_url, sshd_device):
    """Two pods of the cli-ssh profile on one PostgreSQL registry, both ready: device-ssh proven
    by each pod's probe through its own workers to the one canary."""
    first = Stack(tmp_path / "pod-a", free_port(), registry_url=postgres_url)
    second = Stack(tmp_path / "pod-b", free_port(), registry_url=postgres_url)
    canary = sshd_device([first.identity("ed25519")])
    hostkeys.load_or_create(str(first.state / "host-keys"))
    first.fresh_registry()
    (tmp_path / "canary.pub").write_text(canary.host_key + "\n")
    first.add_canary(canary.port, canary.login, tmp_path / "canary.pub")
    for secret in ("keys", "state/host-keys", "probe"):  # what Kubernetes mounts from Secrets
        shutil.copytree(first.home / secret, second.home / secret)
    started = [
        Pod(stack, Supervisor(tmp_path / f"run-{name}", GRAPH, "--profile", PROFILE, env=stack.env()))
        for name, stack in (("a", first), ("b", second))
    ]
    try:
        for pod in started:
            pod.run.wait_event("ssh-probe", "available", timeout=90)
        yield started
    finally:
        for pod in started:
            stop_process(pod.run.process, timeout=30)
        leftovers = [pid for pod in started for pid in pod.run.leftovers()]
        assert not leftovers, f"processes left behind: {leftovers}"


def test_two_pods_share_users_pins_and_grants(pods, tmp_path, sshd_device):
    pod_a, pod_b = pods
    assert pod_a.host_key() == pod_b.host_key() != ""  # one proxy host key for the whole fleet
    identity = pod_a.stack.identity("ed25519")
    device = sshd_device([identity])
    relay = TcpRelay(device.port)  # the device's address: the test decides which sshd answers there
    try:
        # A user added once (through pod A's admin command) is served by both pods.
        user_key, _ = keygen(tmp_path, "ed25519", "alice")
        pod_a.stack.add_user("alice", Path(f"{user_key}.pub"))
        pod_a.stack.registry("add-device", "dev-1", "--address", "127.0.0.1", "--port", str(relay.port), "--login", device.login, "--tofu")  # fmt: skip
        pod_b.stack.registry("grant", "alice", "dev-1")
        for pod in pods:
            result = pod.ssh(user_key, "alice+dev-1", "echo", "served")
            assert (result.returncode, result.stdout) == (0, b"served\n"), result.stderr

        # The first of those sessions pinned the device's key (trust on first use) in the shared
        # registry. The device's key changes: both pods refuse it, in the same words.
        replaced = sshd_device([identity])
        relay.target = replaced.port
        pinned, presented = (keys.Key.fromString(d.host_key) for d in (device, replaced))
        mismatch = errors.host_key_mismatch("dev-1", sshkeys.describe(pinned), sshkeys.describe(presented))
        for pod in (pod_b, pod_a):
            assert_refused(pod.ssh(user_key, "alice+dev-1", "true"), mismatch.message)
        relay.target = device.port

        # Revoking the grant takes effect on both at once: on each pod, the first login after the
        # revoke command returns is refused (no cache anywhere to wait for).
        pod_a.stack.registry("revoke", "alice", "dev-1")
        for pod in pods:
            assert_refused(pod.ssh(user_key, "alice+dev-1", "true"), no_access("dev-1"))
    finally:
        relay.close()
