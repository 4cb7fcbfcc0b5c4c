"""``python -m services.ssh_probe``, as an external monitor runs it, against a real proxy worker.

It passes only when a real session reaches the canary device and ``true`` exits 0; each failure
is one line, the proxy's own when the proxy refused: the canary down, the agent emptied, the
worker killed (before the probe connects, and while its session is being set up).
"""

import os
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from twisted.conch.ssh import transport
from twisted.conch.ssh.common import NS

from examples.demo.stack import ROOT
from services.ssh_proxy import aead, wire
from services.ssh_proxy.errors import NO_IDENTITIES
from tests.helpers.services import keygen, run_service
from tests.ssh import proxy_stack
from tests.ssh.tcp_relay import TcpRelay

stack = proxy_stack.stack  # the fixture


@pytest.fixture
def canary(stack, tmp_path):
    """User ``probe`` granted device ``canary`` (an sshd trusting the proxy); the probe's arguments."""
    key, _ = keygen(tmp_path, "ed25519", "probe")
    stack.registry("add-user", "probe", "--key", f"{key}.pub")
    device = stack.device("canary", grant=False)
    stack.registry("grant", "probe", "canary")
    arguments = ["--proxy", f"127.0.0.1:{stack.port}", "--user", "probe", "--key", str(key)]
    arguments += ["--device", "canary", "--proxy-host-keys", str(tmp_path / "host-keys")]
    return device, arguments


def probe(arguments: list[str], *more: str) -> tuple[int, str]:
    result = run_service("ssh_probe", *arguments, *more)
    assert result.stdout == ""
    return result.returncode, result.stderr


def test_a_session_to_the_canary_passes(canary):
    _, arguments = canary
    assert probe(arguments) == (0, "")


def test_canary_down_is_the_proxy_s_line(canary):
    device, arguments = canary
    device.sshd.stop()
    line = f"device canary is offline or unreachable (127.0.0.1:{device.sshd.port}: connection refused)"
    assert probe(arguments) == (1, f"ssh_probe: {line}\n")


def test_agent_emptied_is_the_proxy_s_line(stack, canary):
    _, arguments = canary
    env = {"SSH_AUTH_SOCK": stack.agent, "PATH": os.environ["PATH"]}
    subprocess.run(["ssh-add", "-D"], env=env, check=True, capture_output=True, timeout=10)
    assert probe(arguments) == (1, f"ssh_probe: {NO_IDENTITIES}\n")


def test_worker_killed(stack, canary):
    _, arguments = canary
    stack.worker.send_signal(signal.SIGKILL)
    stack.worker.wait(10)
    line = f"cannot reach the SSH proxy at 127.0.0.1:{stack.port}: connection refused"
    assert probe(arguments) == (1, f"ssh_probe: {line}\n")


def test_worker_killed_while_reaching_the_canary(stack, canary):
    """The worker dies with the probe's session half set up: the probe says so and ends."""
    device, arguments = canary
    relay = TcpRelay(device.sshd.port)  # holds the worker's connection to the device
    relay.gate.clear()
    stack.registry("remove-device", "canary")
    stack.registry("add-device", "canary", "--address", "127.0.0.1", "--port", str(relay.port), "--login", device.sshd.login, "--tofu")  # fmt: skip
    stack.registry("grant", "probe", "canary")
    running = subprocess.Popen(
        [sys.executable, "-m", "services.ssh_probe", *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert relay.arrived.wait(30), "the worker did not dial the canary"
        stack.worker.send_signal(signal.SIGKILL)
        stdout, stderr = running.communicate(timeout=30)
    finally:
        relay.close()
        if running.poll() is None:
            running.kill()
    line = "the proxy closed the connection before the session ended"
    assert (running.returncode, stdout, stderr) == (1, "", f"ssh_probe: {line}\n")


def test_what_the_probe_itself_refuses(stack, canary, tmp_path):
    _, arguments = canary
    other_keys = tmp_path / "other-host-keys"
    other_keys.mkdir()
    _, line = keygen(other_keys, "ed25519", "ssh_host_ed25519_key")
    wrong_keys = [*arguments[:-1], str(other_keys)]
    assert probe(wrong_keys) == (
        1,
        f"ssh_probe: the SSH proxy's host key is not one of those in {other_keys}\n",
    )

    stranger, _ = keygen(tmp_path, "ed25519", "stranger")
    unregistered = [*arguments]
    unregistered[unregistered.index("--key") + 1] = str(stranger)
    assert probe(unregistered) == (1, "ssh_probe: the proxy refused the probe's key for probe+canary\n")

    rsa, _ = keygen(tmp_path, "rsa", "rsa_probe")
    unregistered[unregistered.index("--key") + 1] = str(rsa)
    status, said = probe(unregistered)
    assert status == 1 and said.startswith(f"ssh_probe: {rsa}: the probe's key must be Ed25519 or ECDSA")


def test_a_proxy_that_never_answers_times_out(canary):
    _, arguments = canary
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        arguments = [*arguments]
        arguments[arguments.index("--proxy") + 1] = f"127.0.0.1:{port}"
        assert probe(arguments, "--timeout", "2") == (
            1,
            f"ssh_probe: no session through 127.0.0.1:{port} within 2s\n",
        )


def test_bad_arguments_are_one_line(canary, tmp_path):
    _, arguments = canary
    absent = [*arguments]
    absent[absent.index("--key") + 1] = str(tmp_path / "absent")
    assert probe(absent) == (1, f"ssh_probe: {tmp_path / 'absent'}: cannot read: No such file or directory\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    no_keys = [*arguments[:-1], str(empty)]
    assert probe(no_keys) == (1, f"ssh_probe: no host keys of the proxy in {empty} (*.pub)\n")
    status, said = probe(arguments, "--timeout", "0")
    assert status == 2 and "'0' is not a number of seconds above 0" in said


def test_what_a_proxy_says_is_printed_escaped(canary):
    """The probe is also run by external monitors, which read its line raw: a disconnect text with
    terminal escapes and a newline from whatever answers on the proxy's port comes out escaped."""
    _, arguments = canary
    said = b"\x1b[2Jowned\nsecond line"
    disconnect = wire.u32.pack(transport.DISCONNECT_PROTOCOL_ERROR) + NS(said) + NS(b"")
    packet = b"".join(aead.frame(aead.Plain.block, aead.Plain.aad, transport.MSG_DISCONNECT, (disconnect,)))
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        arguments = [*arguments]
        arguments[arguments.index("--proxy") + 1] = f"127.0.0.1:{port}"
        with ThreadPoolExecutor(1) as pool:
            answered = pool.submit(lambda: _answer_once(server, b"SSH-2.0-hostile\r\n" + packet))
            result = probe(arguments, "--timeout", "5")
            answered.result(10)
    assert result == (1, "ssh_probe: the proxy disconnected: \\x1b[2Jowned\\nsecond line\n")


def _answer_once(server: socket.socket, reply: bytes) -> None:
    connection, _ = server.accept()
    with connection:
        connection.sendall(reply)
        connection.settimeout(5)
        try:
            while connection.recv(4096):  # until the probe hangs up
                pass
        except OSError:
            pass
