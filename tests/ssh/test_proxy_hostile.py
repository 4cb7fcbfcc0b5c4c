"""What a hostile client can still try once the limits of ``test_proxy_limits`` hold, each with its bytes.

Raw packets from the hostile Conch client (``hostile_client``) or ``conch_client``, a hostile
Conch device (``hostile_device``) for what a device could do to a user, real OpenSSH where it can
do it, and the worker's own stderr, audit lines and peak memory read back.
"""

import json
import re
import socket
import struct
import subprocess
import sys
import time

import pytest
from twisted.conch.ssh.common import NS

from examples.demo.stack import ROOT, stop_process, wait_until
from tests.helpers.net import accepts_ssh, free_port
from tests.helpers.services import keygen
from tests.ssh import proxy_stack
from tests.ssh.hostile_client import Connection
from tests.ssh.test_log_safety import attack
from tests.ssh.test_proxy_limits import conch, read_until_closed

stack = proxy_stack.stack  # the fixture


def worker_lines(stack, text: str) -> list[str]:
    """The stopped worker's stderr lines that contain ``text``."""
    stack.stop()
    return [line for line in stack.worker.stderr.read().splitlines() if text in line]


def test_messages_for_channels_that_do_not_exist_end_the_connection_with_one_log_line(stack):
    """Each used to be one warning line in the worker's log: a logged-in user wrote them at will."""
    device = stack.device()
    stray = ("packet", 94, struct.pack(">L", 999) + NS(b"x"))  # CHANNEL_DATA for channel 999
    login = ("login", f"alice+{device.uuid}".encode())
    plan = Connection(steps=(login, ("open", b"session", b""), *[stray] * 50))
    result = attack(stack, [plan])[0]
    assert result["login"] == "success" and 91 in result["received"]  # the session channel is open
    assert result["closed_by_proxy"]
    assert len(worker_lines(stack, "channels that do not exist")) == 1


def test_a_second_service_request_ends_the_connection(stack):
    """Conch accepted ``ssh-userauth`` again: before login it restarted MaxAuthTries' count (six
    more tries each time), after login it replaced the user's connection service."""
    again = ("packet", 5, NS(b"ssh-userauth"))  # SERVICE_REQUEST
    wrong = ("auth", b"alice", b"ssh-connection", b"publickey", b"\x00" + NS(b"ssh-ed25519") + NS(b"x"))
    before = Connection(steps=(*[wrong] * 5, again, *[wrong] * 5))
    before_login, after_login = attack(stack, [before, Connection(steps=(("login", b"alice"), again))])
    assert before_login["received"] == [51] * 5 and before_login["closed_by_proxy"]
    assert after_login["login"] == "success" and after_login["closed_by_proxy"]
    assert len(worker_lines(stack, "Traceback")) == 0


def first_bytes(sockets: list[socket.socket], timeout: float = 15) -> list[bytes]:
    """What each socket receives first: b"SSH-" through a forwarded channel, b"" once closed."""
    seen = []
    for sock in sockets:
        sock.settimeout(timeout)
        try:
            seen.append(sock.recv(4))
        except ConnectionResetError:
            seen.append(b"")
    return seen


def forwarded(stack, listen_port: int, ssh: list, more: int) -> list[bytes]:
    """Connect to ``listen_port`` (a forward of the real ``ssh``), once until it is up and ``more``
    times after; what each connection received first. Every connection stays open meanwhile."""
    sockets, deadline = [], time.monotonic() + 15
    try:
        while not sockets:
            assert ssh[0].poll() is None and time.monotonic() < deadline, "the forward did not come up"
            try:
                sockets.append(socket.create_connection(("127.0.0.1", listen_port), timeout=5))
            except ConnectionRefusedError:
                time.sleep(0.1)
        sockets += [socket.create_connection(("127.0.0.1", listen_port), timeout=5) for _ in range(more)]
        return first_bytes(sockets)
    finally:
        for sock in sockets:
            sock.close()


def test_channels_of_every_type_are_bounded_per_connection(stack):
    """Forwarded TCP channels, either way, were bounded only by the device's own sshd."""
    device = stack.device()
    stack.restart("--max-channels", "3")
    login, target = f"alice+{device.uuid}", f"127.0.0.1:{device.sshd.port}"  # the device's sshd: a banner
    for flag, way in (("-L", "user"), ("-R", "device")):
        port = free_port()
        options = ("-N", "-o", "ExitOnForwardFailure=yes", flag, f"127.0.0.1:{port}:{target}")
        ssh = [stack.popen(login, options=options)]
        try:
            seen = forwarded(stack, port, ssh, 4)
        finally:
            stop_process(ssh[0])
        assert sorted(seen) == [b"", b"", b"SSH-", b"SSH-", b"SSH-"], f"opened by the {way}: {seen}"
    sessions = conch(stack, "sessions", 5, user=login)  # sessions count among them
    too_many = "too many channels on this connection (at most 3)"
    assert (sessions["confirmed"], sessions["failed"]) == (3, [too_many] * 2)


NAME_RULE = "use letters, digits, '.', '_' or '-' (at most 64)"


def test_device_names_are_checked_before_use_and_bounded_everywhere(stack):
    """A name as the user typed it used to reach the registry lookup, the terminal and the audit
    line whole: a 64 KB name made a 64 KB audit line."""
    audit, _ = stack.restart("--no-device-timeout", "1")  # the audit lines in a file
    escape = "\x1b]0;owned\x07\x1b[2J"  # a terminal's title and clear screen
    told = f"device name '\\x1b]0;owned\\x07\\x1b[2J' is not valid: {NAME_RULE}"
    proxy_stack.assert_refused(stack.ssh("alice", "host", escape, "true"), told)
    # OpenSSH's client refuses such a login name: Conch's sends it, and hears why as it is dropped.
    assert conch(stack, "sessions", 1, user=f"alice+{escape}", wait=True)["disconnect"] == told
    for form in (("alice", "host", "d" * 65536), (f"alice+{'d' * 65536}", "true")):
        result = stack.ssh(*form)
        line = result.stderr.decode()
        assert result.returncode == 255, line
        assert line.endswith(f"...[65472 more]' is not valid: {NAME_RULE}\n"), line
    stop_process(stack.worker)
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [record["result"] for record in records] == ["bad-device-name"] * 4
    assert max(len(line) for line in audit.read_text().splitlines()) < 600


TERMINAL_ATTACK = "\x1b]0;owned\x07\x1b[2J" + "x" * 5000  # a title, clear screen, and 5 KB more
SHOWN = "\\x1b]0;owned\\x07\\x1b[2J" + "x" * 186 + "...[4814 more]"  # escaped, cut at 200


def hostile_device(stack, mode: str) -> tuple[str, subprocess.Popen]:
    """``hostile_device`` registered and granted to alice; its name and process (the caller stops it)."""
    key, _ = keygen(stack.tmp, "ed25519", f"hostile_{mode}")
    port = free_port()
    args = [sys.executable, "-m", "tests.ssh.hostile_device", str(port), str(key), mode, TERMINAL_ATTACK]
    process = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.DEVNULL)
    wait_until(lambda: accepts_ssh(port) or process.poll() is not None, timeout=15, what="the hostile device")
    uuid = f"hostile-{mode}"
    address = ("--address", "127.0.0.1", "--port", str(port), "--login", "anyone")
    stack.registry("add-device", uuid, *address, "--host-key", f"{key}.pub")
    stack.registry("grant", "alice", uuid)
    return uuid, process


def test_a_devices_text_reaches_the_users_terminal_escaped_and_bounded(stack):
    """A device's disconnect reason, or why it refused a session, used to be printed as it came:
    terminal escape sequences from a hostile device ran in the user's terminal."""
    uuid, device = hostile_device(stack, "disconnect")
    try:
        said = stack.ssh(f"alice+{uuid}", "true")
    finally:
        stop_process(device)
    proxy_stack.assert_refused(said, f"device {uuid} closed the connection ({SHOWN})")
    uuid, device = hostile_device(stack, "refuse")
    try:
        said = stack.ssh("alice", "host", uuid, "true")  # the balena form: the proxy opens the session
    finally:
        stop_process(device)
    proxy_stack.assert_refused(said, f"the device refused a session channel ({SHOWN})")


def test_max_startups_says_why_and_logs_a_throttling_period_not_each_drop(stack):
    """A drop used to close the connection without a word; the log said when dropping began."""
    _, log = stack.restart("--max-startups", "2")
    waiting = [socket.create_connection(("127.0.0.1", stack.port), timeout=5) for _ in range(2)]
    dropped = []
    try:
        assert first_bytes(waiting) == [b"SSH-"] * 2
        dropped += [socket.create_connection(("127.0.0.1", stack.port), timeout=5) for _ in range(5)]
        assert [read_until_closed(sock) for sock in dropped] == [b"Exceeded MaxStartups\r\n"] * 5
    finally:
        for sock in waiting + dropped:
            sock.close()
    wait_until(lambda: accepts_ssh(stack.port), timeout=15, what="a free place")
    stop_process(stack.worker)
    lines = [line.split(": ", 1)[1] for line in log.read_text().splitlines() if "MaxStartups" in line]
    assert len(lines) == 2, lines
    began = "MaxStartups 2:100:2: 2 connections not logged in, dropping new ones (the first from 127.0.0.1:"
    assert lines[0].startswith(began), lines
    assert lines[1].startswith("MaxStartups 2:100:2: accepting again after "), lines
    assert lines[1].endswith("s, 5 connections dropped"), lines


def test_no_compression_is_offered(stack):
    """Conch decompresses a packet whole, with no bound: with zlib, one packet of 200 KB before
    login made a worker take 390 MB (a 1 MiB packet, the most Conch reads, inflates to 1 GiB)."""
    zlib = {"supportedCompressions": [b"zlib"]}
    zlib_only = Connection(kex=zlib, replace_kex=True, steps=(("login", b"alice"),))
    assert attack(stack, [zlib_only])[0]["login"] is None  # no algorithm in common: no key exchange


@pytest.mark.parametrize("number", [80, 90, 93, 94, 97, 98])
def test_a_malformed_message_is_a_protocol_error(stack, number):
    """A message too short for its fields raised out of the relay: an error line in the log per
    connection and a connection dropped without a word."""
    device = stack.device()
    login = ("login", f"alice+{device.uuid}".encode())
    steps = (login, ("open", b"session", b""), ("packet", number, b"\x00\x00"))
    assert attack(stack, [Connection(steps=steps)])[0]["closed_by_proxy"]
    lines = worker_lines(stack, "")
    who = rf"ssh_proxy\[\d+\]: session of alice from 127\.0\.0\.1:\d+ to {device.uuid}"
    said = rf"{who}: the user broke the protocol \(malformed message {number}\), disconnected"
    assert len(lines) == 1 and re.fullmatch(said, lines[0]), lines


def peak_rss_mb(pid: int) -> float:
    """The most memory the process has held so far (VmHWM), in MB."""
    status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines())
    return int(status["VmHWM"].split()[0]) / 1024


def test_a_channel_carries_messages_only_once_it_is_confirmed(stack):
    """A request sent with a guessed channel number before the device confirmed the channel made
    the relay raise (an error line in the log, the rest of the session stuck): it is a message
    for a channel that does not exist yet, and the channel works once confirmed."""
    device = stack.device()
    guessed = struct.pack(">L", 0) + NS(b"exec") + b"\x01" + NS(b"true")  # on the proxy's channel 0
    plan = Connection(
        steps=(
            ("login", f"alice+{device.uuid}".encode()),
            ("packet", 90, NS(b"session") + struct.pack(">3L", 7, 2**21, 32768)),  # CHANNEL_OPEN
            ("packet", 98, guessed),  # before its confirmation: held until the device is reached
            ("sleep", 2),
            ("request", b"exec", NS(b"true")),  # once the confirmation came
        )
    )
    result = attack(stack, [plan])[0]
    assert 91 in result["received"] and result["received"][-1] == 99, result  # CHANNEL_SUCCESS
    stack.stop()
    assert stack.worker.stderr.read() == ""


def test_a_user_that_does_not_read_cannot_make_the_worker_buffer(stack):
    """A channel's window is what the receiving peer declares, up to 4 GiB: a user declaring that
    and not reading made the worker hold all the device sent it (and the same for answers to
    requests it never read). Its peak memory is measured over a whole session that does so."""
    device = stack.device()
    plan = Connection(
        steps=(
            ("login", f"alice+{device.uuid}".encode()),
            ("open", b"session", b"", 2**32 - 1),
            ("request", b"exec", NS(b"head -c 300000000 /dev/zero")),
            ("stop-reading",),
            ("sleep", 6),
            ("read",),
        )
    )
    before = peak_rss_mb(stack.worker.pid)
    assert 99 in attack(stack, [plan])[0]["received"]  # CHANNEL_SUCCESS: the exec ran
    grown = peak_rss_mb(stack.worker.pid) - before  # 545 MB when the proxy read on regardless
    assert grown < 64, f"the worker grew by {grown:.0f} MB"  # 8 to 11 MB measured: 4 MiB held, copies


def test_requests_waiting_for_an_answer_are_bounded(stack):
    """A device that never answers (this one ignores global requests) and a user who sends them
    without waiting made the proxy remember each request, without end."""
    uuid, device = hostile_device(stack, "refuse")
    keepalive = ("packet", 80, NS(b"keepalive@openssh.com") + b"\x01")  # GLOBAL_REQUEST, want reply
    try:
        login = ("login", f"alice+{uuid}".encode())
        result = attack(stack, [Connection(steps=(login, *[keepalive] * 1100, ("sleep", 5)))])[0]
    finally:
        stop_process(device)
    assert result["login"] == "success" and result["closed_by_proxy"]
    assert len(worker_lines(stack, "more than 1024 requests waiting for an answer")) == 1


def test_a_user_leaving_while_the_device_is_reached_leaves_no_error(stack):
    """What the user sent before leaving was replayed to a relay with no device: an error line."""
    device = stack.device()
    opened = ("packet", 90, NS(b"session") + struct.pack(">3L", 7, 2**21, 32768))  # not waiting for it
    assert attack(stack, [Connection(steps=(("login", f"alice+{device.uuid}".encode()), opened))])
    time.sleep(3)  # the device is reached after the user left
    stack.stop()
    assert stack.worker.stderr.read() == ""


def test_what_is_held_counts_what_each_message_costs_not_only_its_bytes(stack):
    """Before the device is reached, 1 MiB of 4-byte messages (the balena form before its exec)
    was held as 262,144 tuples of bytes, 27 MB; each now counts its bookkeeping too."""
    eof = ("packet", 96, struct.pack(">L", 0))  # CHANNEL_EOF on the session the proxy confirmed
    steps = (("login", b"alice"), ("open", b"session", b""), *[eof] * 20_000, ("sleep", 2))
    assert attack(stack, [Connection(steps=steps)])[0]["closed_by_proxy"]  # 80 KB of messages
