"""Sessions through the proxy with real OpenSSH clients and sshd devices: everything OpenSSH does."""

import hashlib
import os
import pty
import select
import subprocess
import time

from examples.demo.stack import stop_process, wait_until
from tests.helpers.net import accepts_ssh, free_port
from tests.ssh import proxy_stack
from tests.ssh.proxy_stack import CLIENT_OPTIONS

stack = proxy_stack.stack  # the fixture


def test_exec_keeps_stdin_stdout_stderr_and_exit_status(stack):
    device = stack.device()
    result = stack.ssh(f"alice+{device.uuid}", "cat; echo to-stderr >&2; exit 7", input=b"from stdin\n")
    assert (result.returncode, result.stdout, result.stderr) == (7, b"from stdin\n", b"to-stderr\n")


def test_balena_host_form_exec_with_stdin_and_exit_status(stack):
    device = stack.device()
    result = stack.ssh("alice", "host", device.uuid, "cat; exit 5", input=b"balena\n")
    assert (result.returncode, result.stdout, result.stderr) == (5, b"balena\n", b"")


def _drive_pty(command: list[str], keys: bytes, expect: bytes, timeout: float = 20) -> tuple[int, bytes]:
    """Run ``command`` on a real terminal, type ``keys``, read until it exits; (status, output)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        command, stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True
    )
    os.close(terminal)
    output, deadline, typed = b"", time.monotonic() + timeout, False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the terminal closed: the client exited
                    break
                if not chunk:
                    break
                output += chunk
            if not typed and expect in output:
                os.write(controller, keys)
                typed = True
        return process.wait(timeout=max(1, deadline - time.monotonic())), output
    finally:
        stop_process(process)
        os.close(controller)


def test_shell_with_a_pty_in_a_real_terminal(stack):
    device = stack.device()
    base = ["ssh", *CLIENT_OPTIONS, "-i", str(stack.user_key), "-p", str(stack.port), "-tt"]
    prompt_ready = b"$" if os.getuid() else b"#"
    status, output = _drive_pty(
        [*base, f"alice+{device.uuid}@127.0.0.1"], b"tty; echo $((6*7)); exit 3\n", prompt_ready
    )
    assert status == 3, output
    assert b"/dev/pts/" in output and b"42" in output
    status, output = _drive_pty(
        [*base, "alice@127.0.0.1", "host", device.uuid], b"echo $((7*8)); exit 4\n", prompt_ready
    )
    assert status == 4, output
    assert b"56" in output


def test_50_mb_round_trip_matches(stack, tmp_path):
    device = stack.device()
    payload = tmp_path / "payload"
    payload.write_bytes(os.urandom(50 * 1024 * 1024))
    with payload.open("rb") as source:
        started = time.monotonic()
        result = stack.ssh(f"alice+{device.uuid}", "cat", stdin=source, timeout=60)
        elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256(result.stdout).digest() == hashlib.sha256(payload.read_bytes()).digest()
    print(f"50 MiB each way through the proxy in {elapsed:.2f}s ({50 / elapsed:.0f} MiB/s per direction)")


def test_sftp_put_and_get(stack, tmp_path):
    device = stack.device()
    original = tmp_path / "original"
    original.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    back = tmp_path / "back"
    remote = tmp_path / "remote-copy"
    batch = f"put {original} {remote}\nget {remote} {back}\n"
    sftp = ["sftp", *CLIENT_OPTIONS, "-i", str(stack.user_key), "-P", str(stack.port), "-b", "-"]
    result = subprocess.run(
        [*sftp, f"alice+{device.uuid}@127.0.0.1"], input=batch.encode(), capture_output=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert back.read_bytes() == remote.read_bytes() == original.read_bytes()


def test_scp_both_ways(stack, tmp_path):
    device = stack.device()
    original = tmp_path / "scp-original"
    original.write_bytes(os.urandom(1024 * 1024 + 3))
    scp = ["scp", *CLIENT_OPTIONS, "-i", str(stack.user_key), "-P", str(stack.port)]
    remote = f"alice+{device.uuid}@127.0.0.1:{tmp_path / 'scp-remote'}"
    for legacy in ([], ["-O"]):  # the sftp protocol (default) and the classic scp protocol
        up = subprocess.run([*scp, *legacy, str(original), remote], capture_output=True, timeout=30)
        assert up.returncode == 0, up.stderr
        down = subprocess.run(
            [*scp, *legacy, remote, str(tmp_path / "scp-back")], capture_output=True, timeout=30
        )
        assert down.returncode == 0, down.stderr
        assert (tmp_path / "scp-back").read_bytes() == original.read_bytes()


def test_local_port_forwarding(stack):
    device = stack.device()
    local = free_port()
    args = ["ssh", *CLIENT_OPTIONS, "-i", str(stack.user_key), "-p", str(stack.port), "-N"]
    args += ["-L", f"127.0.0.1:{local}:127.0.0.1:{device.sshd.port}", f"alice+{device.uuid}@127.0.0.1"]
    forwarder = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # Through the tunnel to the device's own sshd: its banner proves the bytes made the trip.
        wait_until(lambda: accepts_ssh(local), timeout=15, what="the forwarded port")
    finally:
        stop_process(forwarder)


def test_keepalives_are_answered_end_to_end(stack):
    device = stack.device()
    options = ("-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2")
    result = stack.ssh(f"alice+{device.uuid}", "sleep 4; echo still-here", options=options)
    assert (result.returncode, result.stdout) == (0, b"still-here\n"), result.stderr


def test_exit_signal_is_relayed(stack):
    """A command killed by a signal reaches the client as exit-signal, as it would from sshd."""
    device = stack.device()
    result = stack.ssh(f"alice+{device.uuid}", "kill -TERM $$", options=("-v",))
    assert result.returncode == 255
    assert b"rtype exit-signal" in result.stderr
