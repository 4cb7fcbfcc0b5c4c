"""Device host-key pins are the registry's: a pin made by one proxy is enforced by every other.

Across pods the registry is shared (PostgreSQL: ``test_fleet``); here, the moment that only a
fleet makes likely is made certain: a worker reads a device that has no pin yet (trust on first
use), and before its key exchange completes another proxy pins a different key. The worker
must then refuse the device in the same words as any mismatch, not report a registry failure.
"""

import subprocess

from twisted.conch.ssh import keys

from services.registry import open_store
from services.shared import sshkeys
from services.ssh_proxy import errors
from tests.helpers.services import keygen
from tests.ssh import proxy_stack
from tests.ssh.proxy_stack import assert_refused
from tests.ssh.tcp_relay import TcpRelay

stack = proxy_stack.stack  # the fixture


def test_a_pin_made_meanwhile_by_another_proxy_is_a_mismatch(stack, tmp_path):
    sshd = stack.sshd_device([stack.identity])
    relay = TcpRelay(sshd.port)
    relay.gate.clear()
    stack.registry("add-device", "dev-1", "--address", "127.0.0.1", "--port", str(relay.port), "--login", sshd.login, "--tofu")  # fmt: skip
    stack.registry("grant", "alice", "dev-1")
    user = stack.popen("alice+dev-1", "true")
    try:
        assert relay.arrived.wait(30), "the worker did not dial the device"
        # The worker has read the device (no pin yet); another proxy pins another key now.
        _, other = keygen(tmp_path, "ed25519", "other_host_key")
        assert open_store(str(stack.db)).pin_host_key("dev-1", other) == other
        relay.gate.set()
        stdout, stderr = user.communicate(timeout=30)
    finally:
        relay.close()
        if user.poll() is None:
            user.kill()
    presented = keys.Key.fromString(sshd.host_key)
    line = errors.host_key_mismatch(
        "dev-1", sshkeys.describe(keys.Key.fromString(other)), sshkeys.describe(presented)
    ).message
    assert_refused(subprocess.CompletedProcess(user.args, user.returncode, stdout, stderr), line)
    assert open_store(str(stack.db)).device("dev-1").host_key == other  # the first pin stays
