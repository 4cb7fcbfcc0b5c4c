"""Peer bytes never reach a format string: one packet before login used to control the worker's log.

Conch's ``auth_publickey`` logged the client's algorithm name as a twisted.logger format string
(SECURITY.md). Each test sends the bytes of the attack through a real connection to a real
worker and reads the worker's stderr: no key material, one line per event, the worker still up.
"""

import json
import subprocess
import sys

import pytest
from twisted.conch.ssh import keys
from twisted.conch.ssh.common import NS

from tests.ssh import proxy_stack
from tests.ssh.conftest import ROOT
from tests.ssh.hostile_client import Connection, encode
from tests.ssh.leaks import Secrets

stack = proxy_stack.stack  # the fixture


def attack(stack, plan: list[Connection], timeout: float = 60) -> list[dict]:
    """Run ``plan`` with the hostile client against the stack's worker; one result per connection."""
    client = subprocess.run(
        [sys.executable, "-m", "tests.ssh.hostile_client", str(stack.port), str(stack.user_key)],
        cwd=ROOT,
        input=encode(plan),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert client.returncode == 0, client.stderr
    return [json.loads(line) for line in client.stdout.splitlines()]


def assert_log_is_safe(stack, stderr: str) -> None:
    """Every line is one event of this worker, and none holds the host keys' secrets."""
    prefix = f"ssh_proxy[{stack.worker.pid}]: "
    stray = [line for line in stderr.splitlines() if not line.startswith(prefix)]
    assert stray == [], f"{len(stray)} lines not from the worker's observer, first: {stray[0][:300]!r}"
    assert Secrets.of(stack.tmp / "host-keys").found_in(stderr) == [], "host key material in the log"


def assert_still_serving(stack) -> None:
    assert stack.worker.poll() is None, "the worker stopped"
    device = stack.device()
    result = stack.ssh(f"alice+{device.uuid}", "echo", "still serving")
    assert (result.returncode, result.stdout) == (0, b"still serving\n"), result.stderr


def publickey_with_algorithm(algorithm: bytes) -> Connection:
    """One user-auth request: method publickey, the algorithm name given, a blob that is no key."""
    data = b"\x00" + NS(algorithm) + NS(b"not a key")
    return Connection(steps=(("auth", b"alice", b"ssh-connection", b"publickey", data),))


# The four algorithm names of issue 7, each one packet before login.
ISSUE_ALGORITHMS = (
    b"{log_source.transport.factory.privateKeys}",  # wrote the private host keys to the log
    b"{log_source.clock.stop()}",  # stopped the worker's reactor
    b"x\nFORGED-LINE: user root authenticated",  # forged a log line
    b"\xff",  # a 20-line traceback per connection
)


@pytest.mark.parametrize("algorithm", ISSUE_ALGORITHMS, ids=["private-keys", "stop", "forged-line", "xff"])
def test_a_publickey_algorithm_name_controls_nothing_in_the_log(stack, algorithm):
    assert len(attack(stack, [publickey_with_algorithm(algorithm)] * 2)) == 2
    assert_still_serving(stack)
    stack.stop()
    stderr = stack.worker.stderr.read()
    assert_log_is_safe(stack, stderr)
    assert "FORGED-LINE" not in stderr.replace("\\nFORGED-LINE", "")
    assert "Traceback" not in stderr


def test_a_bad_publickey_request_is_answered_as_a_failed_attempt(stack):
    """Not a dropped connection: the client is told, and may try another key."""
    results = attack(stack, [publickey_with_algorithm(b"\xff")])
    assert results[0]["received"] == [51] and not results[0]["closed_by_proxy"]


def test_a_malformed_signature_is_a_bad_signature_not_an_error(stack):
    """Conch's Key.verify raises on a signature that does not parse; that is a failed login, which
    the worker does not log at its level, not an error any peer can write to the log at will."""
    alice = keys.Key.fromFile(f"{stack.user_key}.pub")
    data = b"\x01" + NS(alice.sshType()) + NS(alice.blob()) + NS(b"\x00\x00\x00\xffnot a signature")
    request = ("auth", b"alice", b"ssh-connection", b"publickey", data)
    results = attack(stack, [Connection(steps=(request,) * 3)])
    assert results[0]["received"] == [51] * 3
    stack.stop()
    assert stack.worker.stderr.read() == ""

