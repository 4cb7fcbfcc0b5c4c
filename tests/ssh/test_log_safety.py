"""Peer bytes never reach a format string: one packet before login used to control the worker's log.

Conch's ``auth_publickey`` logged the client's algorithm name as a twisted.logger format string
(SECURITY.md). Each test sends the bytes of the attack through a real connection to a real
worker and reads the worker's stderr: no key material, one line per event, the worker still up.
"""

import json
import random
import struct
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from twisted.conch.ssh import keys
from twisted.conch.ssh.common import NS
from twisted.conch.ssh.connection import MSG_CHANNEL_DATA

from examples.demo.stack import ROOT, stop_process
from services.shared import log
from tests.ssh import proxy_stack
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


# The fuzz: every field a peer controls, before and after login, with each of these values.
_RANDOM = random.Random(7)
FUZZ = (
    *ISSUE_ALGORITHMS,
    b"{log_source.transport.factory.settings.agent_path}",  # would show the agent's path if resolved
    b"%s%n%(log_source)s{0}{}{!r}{:>999999999}{log_format}{log_format!r}",  # every format syntax
    b"\xc3\x28\xed\xa0\x80\xf8\x88\x80\x80\x80\xfe",  # invalid UTF-8, an encoded surrogate
    b"\x1b[2J\x1b[31m\x00\x07\x7f" + "\u2028\u202e\x85".encode(),  # terminal controls, separators, bidi
    b"{log_format}" * 5400,  # about 64 KB that would expand itself
    (b"{log_source.transport.factory.privateKeys}\n" * 1600)[:65536],  # 64 KB
    bytes(_RANDOM.randrange(256) for _ in range(4096)),
)


def _before_kex(value: bytes) -> bytes:
    """``value`` cut to fit the version line and KEXINIT: Conch refuses a peer from which it reads
    more than 4 KB before the version line, and the client sends both at once."""
    return value[:200]


def fuzz_plan(value: bytes, device: str, alice: bytes, stranger: bytes) -> list[Connection]:
    """Six connections sending ``value`` in every field: three before login, three after it."""
    publickey = b"publickey"
    no_key = b"\x00" + NS(value) + NS(b"not a key")
    unknown_key = b"\x00" + NS(value) + NS(stranger)
    bad_signature = b"\x01" + NS(value) + NS(alice) + NS(value)
    all_kex = ("supportedKeyExchanges", "supportedPublicKeys", "supportedCiphers", "supportedMACs")
    before_login = [
        Connection(
            version=b"SSH-2.0-" + _before_kex(value).replace(b"\r", b"").replace(b"\n", b""),
            kex={name: [_before_kex(value)] for name in (*all_kex, "supportedCompressions")},
            steps=(
                ("debug", value),
                ("ignore", value),
                ("auth", value, b"ssh-connection", b"none", b""),
                ("auth", value, value, b"none", b""),
                ("auth", b"alice", b"ssh-connection", value, value),
                ("auth", value, b"ssh-connection", publickey, no_key),
                ("auth", b"alice", b"ssh-connection", publickey, unknown_key),
                ("auth", b"alice", b"ssh-connection", publickey, bad_signature),
            ),
            reason=value,
        ),
        Connection(kex={"supportedCiphers": [_before_kex(value)]}, replace_kex=True),  # negotiation fails
        Connection(service=value),
    ]
    session = (("open", b"session", b""),)
    after_login = [
        Connection(  # user-name routing: relayed to a real device
            steps=(
                ("login", f"alice+{device}".encode()),
                ("global", value, value),
                ("open", value, value),
                *session,
                ("request", b"env", NS(value) + NS(value)),
                ("request", b"pty-req", NS(value) + struct.pack(">4L", 80, 24, 0, 0) + NS(b"")),
                ("request", value, value),
                ("request", b"signal", NS(value)),
                ("request", b"subsystem", NS(value)),
                ("packet", MSG_CHANNEL_DATA, struct.pack(">L", 4242) + NS(value)),  # no such channel
            ),
            reason=value,
        ),
        Connection(  # the balena form: the exec names the device
            steps=(
                ("login", b"alice"),
                *session,
                ("request", b"exec", NS(b"host " + value)),
                ("request", b"env", NS(value) + NS(value)),
                ("request", value, value),
                ("global", value, value),
                ("open", value, value),
            ),
            reason=value,
        ),
        Connection(  # the device named in the user name
            steps=(
                ("login", b"alice+" + value),
                *session,
                ("request", b"exec", NS(value)),
                ("open", value, value),
                ("global", value, value),
            ),
            reason=value,
        ),
    ]
    return before_login + after_login


def test_fuzz_every_peer_field_before_and_after_login(stack):
    """The worker logs at debug level here, so every Conch event carrying peer text is rendered."""
    audit_file, log_file = stack.restart("--log-level", "debug")
    device = stack.device().uuid
    alice = keys.Key.fromFile(f"{stack.user_key}.pub").blob()
    stranger = keys.Key(ed25519.Ed25519PrivateKey.generate()).public().blob()
    plan = [connection for value in FUZZ for connection in fuzz_plan(value, device, alice, stranger)]
    results = attack(stack, plan, timeout=100)
    assert len(results) == len(plan)
    logins = [result["login"] for result in results if result["login"] is not None]
    assert logins == ["success"] * 3 * len(FUZZ)  # the "after login" part was after login
    assert_still_serving(stack)

    stop_process(stack.worker)
    audit, stderr = audit_file.read_text(), log_file.read_text()
    assert_log_is_safe(stack, stderr)
    assert max(len(line) for line in stderr.splitlines()) < 2 * log.MAX_LINE
    assert stack.agent not in stderr  # {...agent_path} was never resolved
    # The peer's text is there, inert: shown as sent, escaped, never formatted.
    assert r"b'x\nFORGED-LINE: user root authenticated'" in stderr
    assert "{log_source.transport.factory.privateKeys}" in stderr
    assert all(json.loads(line)["event"] == "session" for line in audit.splitlines())
    assert Secrets.of(stack.tmp / "host-keys").found_in(audit) == []
