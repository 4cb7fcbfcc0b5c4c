"""The limits an SSH server is expected to have, each driven by the bytes a hostile client sends.

Real OpenSSH clients where they can do it, raw sockets before the SSH handshake, and the Conch
client of ``conch_client`` for what OpenSSH's client will not do (stall after the key exchange,
sign RSA with SHA-1, pipeline requests, open channels and send nothing on them).
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from examples.demo.stack import ROOT, stop_process, wait_until
from services.ssh_proxy.limits import Startups
from tests.helpers.net import accepts_ssh, free_port
from tests.helpers.services import keygen, read_line, run_service
from tests.ssh import proxy_stack
from tests.ssh.proxy_stack import CLIENT_OPTIONS, no_access

stack = proxy_stack.stack  # the fixture


def conch(stack, action: str, n: int = 1, *, user: str = "alice", key: Path | None = None, **flags) -> dict:
    """Run ``conch_client`` against the worker; what it saw (see its docstring)."""
    args = [sys.executable, "-m", "tests.ssh.conch_client", "--port", str(stack.port), "--user", user]
    args += ["--key", str(key or stack.user_key), action, str(n)]
    args += [f"--{name}" if value is True else f"--{name}={value}" for name, value in flags.items()]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def read_until_closed(sock: socket.socket, timeout: float = 10) -> bytes:
    """Everything the proxy sends on ``sock`` until it closes it; fails if it is open after ``timeout``."""
    data, deadline = b"", time.monotonic() + timeout
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        except TimeoutError:
            raise AssertionError(f"still open after {timeout}s (received {data[:60]!r})") from None
        if not chunk:
            return data
        data += chunk


def banner(port: int) -> bytes:
    """The first bytes a new connection gets: the version string, or what it is told as it is dropped."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            return sock.recv(4)
        except ConnectionResetError:
            return b""


# -- before login


def test_login_grace_time_ends_every_phase_before_login(stack):
    device = stack.device()
    stack.restart("--login-grace-time", "1")
    said = "no login within the login grace time (1s)"
    silent = socket.create_connection(("127.0.0.1", stack.port), timeout=5)
    version_only = socket.create_connection(("127.0.0.1", stack.port), timeout=5)
    version_only.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
    try:
        assert conch(stack, "stall")["disconnect"] == said  # key exchange done, then nothing
        for sock in (silent, version_only):
            assert said.encode() in read_until_closed(sock)  # the unencrypted DISCONNECT says why
    finally:
        silent.close()
        version_only.close()
    # Once logged in, the grace time no longer applies.
    result = stack.ssh(f"alice+{device.uuid}", "sleep 2; echo still-here")
    assert (result.returncode, result.stdout) == (0, b"still-here\n"), result.stderr


def test_max_startups_drops_connections_past_the_limit_of_those_not_logged_in(stack):
    device = stack.device()
    stack.restart("--max-startups", "3")
    session = stack.popen(f"alice+{device.uuid}", "echo up; sleep 30")
    waiting = []
    try:
        assert read_line(session) == b"up\n"  # logged in: it no longer counts
        for _ in range(3):
            waiting.append(socket.create_connection(("127.0.0.1", stack.port), timeout=5))
            assert waiting[-1].recv(4) == b"SSH-"
        assert banner(stack.port) == b"Exce"  # a fourth connection not logged in: dropped at once,
        # saying why as OpenSSH does ("Exceeded MaxStartups", before any version line)
        waiting.pop().close()
        wait_until(lambda: banner(stack.port) == b"SSH-", timeout=10, what="a free place")
    finally:
        for sock in waiting:
            sock.close()
        stop_process(session)


def test_max_startups_drop_chance_rises_from_rate_to_full():
    startups = Startups.parse("10:30:100")
    assert [startups.drop_percent(n) for n in (0, 9, 10, 55, 99, 100, 500)] == [0, 0, 30, 65, 99, 100, 100]
    assert Startups.parse("7") == Startups(7, 100, 7)  # as OpenSSH reads a single number


@pytest.mark.parametrize(
    "option",
    [
        ("--max-startups", "10:0:100"),
        ("--max-startups", "20:30:10"),
        ("--max-startups", "ten"),
        ("--login-grace-time", "0"),
        ("--max-auth-tries", "0"),
        ("--max-sessions", "-1"),
        ("--max-device-logins", "0"),
    ],
)
def test_bad_limit_is_one_error_line(stack, option):
    result = run_service(
        "ssh_proxy", "--agent", stack.agent, "--registry", str(stack.db), "--host-keys", "x", *option
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        f"python -m services.ssh_proxy: error: argument {option[0]}: "
    )


def _offers(stack, keys: list[Path]) -> int:
    """How many public keys the real ssh client offered before the proxy ended the connection."""
    identities = [arg for key in keys for arg in ("-i", str(key))]
    command = ["ssh", *CLIENT_OPTIONS, "-v", "-o", "IdentitiesOnly=yes", *identities, "-p", str(stack.port)]
    result = subprocess.run([*command, "alice@127.0.0.1", "true"], capture_output=True, timeout=30)
    assert result.returncode == 255 and b"Permission denied" not in result.stderr  # dropped, not done
    return result.stderr.count(b"Offering public key:")


def test_max_auth_tries_counts_each_key_offered(stack, tmp_path):
    wrong = [keygen(tmp_path, "ed25519", f"wrong{i}")[0] for i in range(9)]
    assert _offers(stack, wrong) == 6  # OpenSSH's MaxAuthTries: the sixth failure ends it
    stack.restart("--max-auth-tries", "3")
    assert _offers(stack, wrong) == 3


def test_authentication_requests_are_checked_one_at_a_time(stack, tmp_path):
    """A client that sends requests without waiting for answers cannot queue registry lookups;
    the few it may send that way are each answered, in order."""
    stranger, _ = keygen(tmp_path, "ed25519", "stranger")
    flood = conch(stack, "pipeline", 50, key=stranger)
    assert flood["disconnect"] == "too many authentication requests at once"
    assert flood["auth_failures"] < 6 and not flood["logged_in"]
    few = conch(stack, "pipeline", 5)  # alice's key asked about three times, ``none`` twice
    assert (few["key_accepted"], few["auth_failures"], few["disconnect"]) == (3, 2, None)


def test_sha1_rsa_signatures_are_refused(stack, tmp_path):
    """Conch's client signs RSA as SHA-1 ``ssh-rsa``, which the proxy does not advertise."""
    rsa_private, _ = keygen(tmp_path, "rsa", "bob_rsa")
    stack.registry("add-user", "bob", "--key", f"{rsa_private}.pub")
    device = stack.device(grant=False)
    stack.registry("grant", "bob", device.uuid)
    for action in ("login", "login-signed", "login-mislabelled"):  # asking first, signing at once, lying
        assert conch(stack, action, user="bob", key=rsa_private)["logged_in"] is False, action
    stack.user_key = rsa_private  # OpenSSH's client signs with rsa-sha2-512: the same key logs in
    result = stack.ssh(f"bob+{device.uuid}", "echo rsa-sha2")
    assert (result.returncode, result.stdout) == (0, b"rsa-sha2\n"), result.stderr


def test_a_login_flood_costs_no_threads_or_descriptors(stack, tmp_path):
    """200 clients at once each offer keys the registry does not hold: one thread and one
    connection to the registry serve them all, and the worker serves on afterwards."""
    stack.restart("--max-startups", "300")  # all of them get in: what is measured is their cost
    wrong = [arg for i in range(3) for arg in ("-i", str(keygen(tmp_path, "ed25519", f"wrong{i}")[0]))]
    pid = stack.worker.pid

    def sample() -> tuple[int, int, int]:
        """Threads, open descriptors, and descriptors on the registry's files, of the worker."""
        links = []
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except FileNotFoundError:  # closed meanwhile
                continue
        registry = sum(stack.db.name in link for link in links)
        return len(os.listdir(f"/proc/{pid}/task")), len(links), registry

    before = sample()
    flood = [
        subprocess.Popen(
            [
                "ssh",
                *CLIENT_OPTIONS,
                "-o",
                "IdentitiesOnly=yes",
                *wrong,
                "-p",
                str(stack.port),
                "alice@127.0.0.1",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200)
    ]
    peak, deadline = before, time.monotonic() + 120
    try:
        while any(client.poll() is None for client in flood) and time.monotonic() < deadline:
            peak = tuple(map(max, peak, sample()))
            time.sleep(0.01)
        assert all(client.poll() == 255 for client in flood)  # each refused, none left hanging
    finally:
        for client in flood:
            stop_process(client)
    threads, _, registry_fds = peak
    assert threads <= 3 and registry_fds <= 3, f"peak: {threads} threads, {registry_fds} registry descriptors"
    # Once the refused connections are closed, the registry's connection (file, WAL, index) is all
    # that is left: a loaded machine may take a moment to close 200 sockets.
    wait_until(lambda: sample()[1] <= before[1] + 3, timeout=20, what="the flood's sockets to close")
    device = stack.device()
    result = stack.ssh(f"alice+{device.uuid}", "echo served")
    assert (result.returncode, result.stdout) == (0, b"served\n"), result.stderr


# -- after login


def test_sessions_per_connection_are_bounded_refused_or_relayed(stack):
    device = stack.device()
    refused = conch(stack, "sessions", 30, user="alice+no-such-device")
    assert refused["confirmed"] == 10
    assert refused["failed"] == ["too many sessions on this connection (at most 10)"] * 20
    stack.restart("--max-sessions", "3")  # below the device's own MaxSessions (10)
    relayed = conch(stack, "sessions", 5, user=f"alice+{device.uuid}")
    assert (relayed["confirmed"], relayed["failed"]) == (
        3,
        ["too many sessions on this connection (at most 3)"] * 2,
    )


def test_a_closed_session_frees_its_place(stack, tmp_path):
    """Sessions multiplexed by a real OpenSSH master connection: the third waits for a free place."""
    device = stack.device()
    stack.restart("--max-sessions", "2")
    control = str(tmp_path / "mux")
    master = stack.popen(f"alice+{device.uuid}", options=("-M", "-S", control, "-N"))
    sessions = []
    try:
        wait_until(lambda: Path(control).exists(), timeout=15, what="the master connection")
        mux = ("-S", control)
        for _ in range(2):
            sessions.append(stack.popen(f"alice+{device.uuid}", "echo up; head -n 1", options=mux))
            assert read_line(sessions[-1]) == b"up\n"
        # Refused, the client falls back to a connection of its own: the refusal is in its stderr.
        refused = b"session request failed: Session open refused by peer"
        assert refused in stack.ssh(f"alice+{device.uuid}", "true", options=mux).stderr
        ending = sessions.pop()
        assert ending.communicate(b"end\n", timeout=15) == (b"end\n", b"")  # its session closes
        wait_until(
            lambda: refused not in stack.ssh(f"alice+{device.uuid}", "true", options=mux).stderr,
            timeout=15,
            what="the closed session's place",
        )
    finally:
        for process in [*sessions, master]:
            stop_process(process)


def test_a_burst_of_users_to_one_device_stays_under_its_max_startups(stack):
    """A device's sshd drops logins in progress past its MaxStartups (3 here): 12 users at once to
    it, and the worker, logging in 2 at a time, gets every one of them through (its own
    MaxStartups raised, so that it does not drop any of the 12 itself)."""
    device = stack.device(config="MaxStartups 3\n")
    stack.restart("--max-device-logins", "2", "--max-startups", "50")
    clients = [stack.popen(f"alice+{device.uuid}", "echo ok") for _ in range(12)]
    try:
        ended = [(client.wait(60), client.stdout.read(), client.stderr.read()) for client in clients]
    finally:
        for client in clients:
            stop_process(client)
    assert [(status, output) for status, output, _ in ended] == [(0, b"ok\n")] * 12, ended


def test_a_connection_without_a_device_is_closed(stack):
    """``ssh -N`` refused, or in the balena form without its ``host UUID``: the proxy hangs up."""
    stack.restart("--no-device-timeout", "1")
    refused = stack.ssh("alice+no-such-device", options=("-N",), timeout=20)
    assert refused.returncode == 255 and no_access("no-such-device") in refused.stderr.decode()
    waiting = stack.ssh("alice", options=("-N",), timeout=20)
    assert waiting.returncode == 255 and b"no device chosen: use `ssh USER@PROXY host" in waiting.stderr
    opened = conch(stack, "sessions", 1, wait=True)  # a session channel, and never its exec
    assert opened["confirmed"] == 1 and opened["disconnect"].startswith("no device chosen: use")


def test_what_is_held_before_the_device_is_reached_is_bounded(stack):
    held = conch(stack, "held", 2_000_000, timeout=15)  # the balena form, before its exec
    assert held["disconnect"] == "more than 1048576 bytes sent before the device was reached"


def test_unix_socket_forwarding_is_refused_tcp_forwarding_stays(stack, tmp_path):
    """The test device (plain OpenSSH sshd) allows Unix-socket forwarding: the refusal is the proxy's."""
    device = stack.device()
    login = f"alice+{device.uuid}"
    remote = socket.socket(socket.AF_UNIX)
    remote.bind(str(tmp_path / "remote.sock"))
    remote.listen()
    local = tmp_path / "local.sock"
    forwarder = stack.popen(login, options=("-v", "-N", "-L", f"{local}:{tmp_path / 'remote.sock'}"))
    try:
        wait_until(local.exists, timeout=15, what="the forwarded socket")
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(local))
            assert read_until_closed(client) == b""  # the proxy refused the channel: closed at once
    finally:
        stop_process(forwarder)
        remote.close()
    assert b"administratively prohibited: the proxy does not forward Unix sockets" in forwarder.stderr.read()

    listen_path = tmp_path / "device-side.sock"
    options = ("-N", "-o", "ExitOnForwardFailure=yes", "-R", f"{listen_path}:127.0.0.1:{device.sshd.port}")
    assert stack.ssh(login, options=options, timeout=20).returncode == 255
    assert not listen_path.exists()

    port = free_port()  # -R with TCP: the device listens, and what connects reaches the user's side
    options = ("-N", "-o", "ExitOnForwardFailure=yes", "-R", f"127.0.0.1:{port}:127.0.0.1:{device.sshd.port}")
    tunnel = stack.popen(login, options=options)
    try:
        wait_until(lambda: accepts_ssh(port), timeout=15, what="the reverse tunnel")
    finally:
        stop_process(tunnel)


def test_stand_in_device_serves_only_what_the_proxy_relays(tmp_path):
    """``examples.demo.device_sshd``'s config as the real sshd reads it (``sshd -T``)."""
    (tmp_path / "authorized_keys").write_text("")
    port = free_port()
    home = tmp_path / "state" / "device"
    args = ["--dir", str(home), "--port", str(port), "--authorized-keys", str(tmp_path / "authorized_keys")]
    device = subprocess.Popen(
        [sys.executable, "-m", "examples.demo.device_sshd", *args], cwd=ROOT, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: accepts_ssh(port), timeout=15, what="the stand-in device")
    finally:
        stop_process(device)
    effective = subprocess.run(
        ["/usr/sbin/sshd", "-T", "-f", str(home / "sshd_config")], capture_output=True, text=True, timeout=10
    )
    settings = dict(line.split(" ", 1) for line in effective.stdout.splitlines())
    assert {name: settings[name] for name in ("allowtcpforwarding", "subsystem")} == {
        "allowtcpforwarding": "yes",
        "subsystem": "sftp internal-sftp",
    }
    off = (
        "allowstreamlocalforwarding",
        "allowagentforwarding",
        "x11forwarding",
        "permittunnel",
        "permituserrc",
    )
    assert {name: settings[name] for name in off} == dict.fromkeys(off, "no")
    assert {oct(path.stat().st_mode & 0o777) for path in (home, home.parent)} == {"0o700"}
