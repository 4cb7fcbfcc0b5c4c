"""The worker as the supervisor runs it: adopted socket, readiness, shared host keys, audit, memory."""

import json
import socket
import subprocess
import sys
import time

from examples.demo.stack import ROOT, stop_process, wait_until
from tests.helpers.net import accepts_ssh, free_port
from tests.ssh import proxy_stack
from tests.ssh.proxy_stack import start_worker

stack = proxy_stack.stack  # the fixture


def test_adopts_the_handed_down_socket_and_notifies_ready(stack, tmp_path):
    device = stack.device()
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(15)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    shim = [
        sys.executable,
        "-S",
        str(ROOT / "supervisor" / "runtime" / "exec_shim.py"),
        str(listener.fileno()),
        "listen",
    ]
    command = [
        sys.executable,
        "-m",
        "services.ssh_proxy",
        "--agent",
        stack.agent,
        "--registry",
        str(stack.db),
    ]
    command += ["--host-keys", str(tmp_path / "host-keys")]  # no --listen: the socket must be adopted
    worker = subprocess.Popen(
        [*shim, *command],
        cwd=ROOT,
        pass_fds=[listener.fileno()],
        env={"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": str(notify_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        listener.close()
        try:
            assert notify.recv(64) == b"READY=1"
        except TimeoutError:
            stop_process(worker)
            raise AssertionError(worker.stderr.read().decode()) from None
        stack.port = port
        result = stack.ssh(f"alice+{device.uuid}", "echo adopted")
        assert (result.returncode, result.stdout) == (0, b"adopted\n"), result.stderr
    finally:
        stop_process(worker)
        notify.close()


def _host_keys(port: int) -> set[str]:
    scan = subprocess.run(
        ["ssh-keyscan", "-p", str(port), "127.0.0.1"], capture_output=True, text=True, timeout=20
    )
    return {
        " ".join(line.split()[1:3]) for line in scan.stdout.splitlines() if line and not line.startswith("#")
    }


def test_workers_racing_on_first_start_share_one_set_of_host_keys(stack, tmp_path):
    shared = tmp_path / "shared-host-keys"
    ports = [free_port(), free_port()]
    workers = [start_worker(stack.agent, stack.db, shared, port) for port in ports]
    try:
        for port in ports:
            wait_until(lambda port=port: accepts_ssh(port), timeout=20, what="worker")
        first, second = _host_keys(ports[0]), _host_keys(ports[1])
        assert first == second and {key.split()[0] for key in first} >= {"ssh-ed25519", "ssh-rsa"}
    finally:
        for worker in workers:
            stop_process(worker)
    assert sorted(path.name for path in shared.iterdir()) == [
        "ssh_host_ed25519_key",
        "ssh_host_ed25519_key.pub",
        "ssh_host_rsa_key",
        "ssh_host_rsa_key.pub",
    ]


def test_one_audit_line_per_session_without_secrets(stack):
    device = stack.device()
    assert stack.ssh(f"alice+{device.uuid}", "cat", input=b"12345").returncode == 0
    assert stack.ssh("alice+nowhere", "true").returncode == 255
    lines = [json.loads(line) for line in stack.stop().splitlines()]
    assert [(line["user"], line["device"], line["result"]) for line in lines] == [
        ("alice", device.uuid, "ok"),
        ("alice", "nowhere", "unknown-device"),
    ]
    assert lines[0]["bytes_to_device"] == 5 and lines[0]["bytes_to_user"] == 5
    assert lines[0]["worker"] == stack.worker.pid and lines[0]["duration_s"] < 10
    assert "PRIVATE" not in json.dumps(lines) and stack.identity.split()[1] not in json.dumps(lines)


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_memory_stays_flat_while_a_slow_reader_receives_a_fast_stream(stack):
    device = stack.device()
    args = ["ssh", *proxy_stack.CLIENT_OPTIONS, "-i", str(stack.user_key), "-p", str(stack.port)]
    reader = subprocess.Popen(
        [*args, f"alice+{device.uuid}@127.0.0.1", "head -c 500000000 /dev/zero"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert len(reader.stdout.read(65536)) == 65536
        before = _rss_kib(stack.worker.pid)
        time.sleep(3)  # the device could send hundreds of MB meanwhile; the reader takes nothing
        grown = _rss_kib(stack.worker.pid) - before
        assert grown < 16 * 1024, f"worker grew by {grown} KiB while the reader was stalled"
    finally:
        stop_process(reader)
