"""Every failure reaches the user as one specific stderr line and exit status 255."""

import json
import os
import subprocess

from examples.demo.stack import stop_process
from services.ssh_proxy.errors import NO_IDENTITIES
from tests.helpers.net import free_port
from tests.helpers.services import keygen, read_line
from tests.ssh import proxy_stack
from tests.ssh.proxy_stack import add_to_agent, assert_refused, no_access

stack = proxy_stack.stack  # the fixture


def test_each_failure_names_its_cause(stack, tmp_path):
    good = stack.device()
    assert_refused(stack.ssh("alice+no-such-device", "true"), no_access("no-such-device"))

    port = free_port()  # nothing listens there
    stack.registry(
        "add-device", "offline", "--address", "127.0.0.1", "--port", str(port), "--login", "root", "--tofu"
    )
    stack.registry("grant", "alice", "offline")
    assert_refused(
        stack.ssh("alice+offline", "true"),
        f"device offline is offline or unreachable (127.0.0.1:{port}: connection refused)",
    )

    _, wrong = keygen(tmp_path, "ed25519", "wrong_host_key")
    (tmp_path / "wrong.pub").write_text(wrong + "\n")
    login = good.sshd.login
    stack.registry("add-device", "impostor", "--address", "127.0.0.1", "--port", str(good.sshd.port), "--login", login, "--host-key", str(tmp_path / "wrong.pub"))  # fmt: skip
    stack.registry("grant", "alice", "impostor")
    result = stack.ssh("alice+impostor", "true")
    assert result.returncode == 255
    assert result.stderr.decode().startswith(
        "device impostor host key mismatch: the registry pins ED25519 SHA256:"
    )
    assert result.stderr.count(b"\n") == 1

    locked = stack.device(authorized_key_lines=[])
    result = stack.ssh(f"alice+{locked.uuid}", "true")
    assert result.returncode == 255
    assert result.stderr.decode().startswith(f"device {locked.uuid} refused the proxy's keys for {login} (tried ED25519 SHA256:")  # fmt: skip

    # The balena form reports the same way, before and after choosing a device.
    assert_refused(stack.ssh("alice", "host", "no-such-device"), no_access("no-such-device"))
    usage = stack.ssh("alice", "uptime")
    assert usage.returncode == 255 and usage.stderr.startswith(b"no device chosen: use `ssh USER@PROXY host")

    # With a pty the line ends in CR LF, so the user's raw-mode terminal shows it cleanly.
    result = stack.ssh("alice+no-such-device", options=("-tt",), stdin=subprocess.DEVNULL)
    assert (result.returncode, result.stderr.decode()) == (255, no_access("no-such-device") + "\r\n")


def test_a_device_not_granted_reads_as_one_that_does_not_exist(stack):
    """The user cannot tell them apart (same line, same exit status); the operator's audit can."""
    stack.device("dev-a", grant=False)
    for login, route in (("alice+{}", ()), ("alice", ("host", "{}"))):
        answers = set()
        for uuid in ("dev-a", "dev-b"):  # dev-a exists (not granted to alice), dev-b does not
            result = stack.ssh(login.format(uuid), *(part.format(uuid) for part in route), "true")
            answers.add((result.returncode, result.stdout, result.stderr.replace(uuid.encode(), b"UUID")))
        assert answers == {(255, b"", no_access("UUID").encode() + b"\n")}
    audit = [json.loads(line) for line in stack.stop().splitlines()]
    assert [line["result"] for line in audit] == ["not-authorised", "unknown-device"] * 2


def test_no_identity_keys_is_found_before_dialling(stack):
    device = stack.device()
    env = {"SSH_AUTH_SOCK": stack.agent, "PATH": os.environ["PATH"]}
    subprocess.run(["ssh-add", "-D"], env=env, check=True, capture_output=True, timeout=10)
    connections_before = device.sshd.log.read_text().count("Connection from")
    assert_refused(stack.ssh(f"alice+{device.uuid}", "true"), NO_IDENTITIES)
    assert_refused(stack.ssh("alice", "host", device.uuid, "true"), NO_IDENTITIES)
    assert device.sshd.log.read_text().count("Connection from") == connections_before


def test_rsa_identity_signs_with_sha2(stack, tmp_path):
    rsa_private, rsa_public = keygen(tmp_path, "rsa", "proxy_rsa")
    env = {"SSH_AUTH_SOCK": stack.agent, "PATH": os.environ["PATH"]}
    subprocess.run(["ssh-add", "-D"], env=env, check=True, capture_output=True, timeout=10)
    add_to_agent(stack.agent, rsa_private)
    device = stack.device(authorized_key_lines=[rsa_public])
    result = stack.ssh(f"alice+{device.uuid}", "echo via-rsa")
    assert (result.returncode, result.stdout) == (0, b"via-rsa\n"), result.stderr
    assert (
        "Accepted publickey" in device.sshd.log.read_text() and ": RSA SHA256:" in device.sshd.log.read_text()
    )


def test_trust_on_first_use_pins_the_host_key(stack):
    device = stack.device(pin=False)
    assert stack.ssh(f"alice+{device.uuid}", "true").returncode == 0
    from services.registry import SQLiteStore

    assert (
        SQLiteStore(str(stack.db)).device(device.uuid).host_key.split()[:2]
        == device.sshd.host_key.split()[:2]
    )
    assert stack.ssh(f"alice+{device.uuid}", "true").returncode == 0


def test_only_registered_public_keys_log_in(stack, tmp_path):
    device = stack.device()
    methods = ("-o", "PreferredAuthentications=password,keyboard-interactive")
    refused = stack.ssh(f"alice+{device.uuid}", "true", options=methods)
    assert refused.returncode == 255 and refused.stderr.endswith(b"Permission denied (publickey).\r\n")
    stranger, _ = keygen(tmp_path, "ed25519", "stranger")
    stack.user_key = stranger  # a key the registry does not hold for alice
    refused = stack.ssh(f"alice+{device.uuid}", "true", options=("-o", "IdentitiesOnly=yes"))
    assert refused.returncode == 255 and b"Permission denied (publickey)" in refused.stderr


def test_device_dropping_mid_session_is_one_line_and_255(stack):
    """Every session under way gets the line, in both routing forms and with a pty (CR LF)."""
    device = stack.device()
    forms = {
        "user+uuid": ((), f"alice+{device.uuid}", ()),
        "balena": ((), "alice", ("host", device.uuid)),
        "pty": (("-tt",), f"alice+{device.uuid}", ()),
    }
    sessions = {}
    try:
        for name, (options, login, route) in forms.items():
            sessions[name] = stack.popen(login, *route, "echo up; cat", options=options)
            assert read_line(sessions[name]).rstrip(b"\r\n") == b"up"  # the session is under way
        device.sshd.drop_sessions()
        line = f"device {device.uuid} closed the connection (connection lost mid-session)"
        for name, session in sessions.items():
            _, stderr = session.communicate(timeout=15)
            ending = "\r\n" if name == "pty" else "\n"
            assert (name, session.returncode, stderr.decode()) == (name, 255, line + ending)
    finally:
        for session in sessions.values():
            stop_process(session)
