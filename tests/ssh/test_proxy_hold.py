"""While the agent or its keys are broken, a user is held (not failed), and the worker reports it.

Real OpenSSH clients and agent; the report is read on a real unix datagram socket standing in
for the supervisor's NOTIFY_SOCKET.
"""

import json
import os
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from examples.demo.stack import stop_process
from services.ssh_proxy.errors import NO_IDENTITIES
from tests.helpers.net import free_port
from tests.ssh import proxy_stack
from tests.ssh.proxy_stack import add_to_agent, assert_refused, empty_agent, start_worker, wait_for_worker

stack = proxy_stack.stack  # the fixture


def _audit(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_user_is_held_until_the_keys_are_back(stack):
    device = stack.device()
    stdout, _ = stack.restart("--hold-timeout", "30")
    empty_agent(stack.agent)
    with ThreadPoolExecutor(1) as pool:
        user = pool.submit(stack.ssh, f"alice+{device.uuid}", "echo held", stdin=subprocess.DEVNULL)
        time.sleep(1.5)  # the user waits meanwhile: the worker holds the connection
        assert not user.done(), user.result()
        add_to_agent(stack.agent, stack.tmp / "proxy_identity")  # what the key loader's re-run does
        result = user.result()
    assert (result.returncode, result.stdout) == (0, b"held\n"), result.stderr
    stop_process(stack.worker)
    (record,) = _audit(stdout)
    assert record["result"] == "ok" and record["held_for"] == "ssh-identity-keys"
    assert record["held_ms"] >= 1000  # the hold began after the login, within the 1.5 s


def test_the_line_comes_once_the_hold_timeout_is_out(stack):
    device = stack.device()
    output = stack.restart("--hold-timeout", "2")
    empty_agent(stack.agent)
    assert_refused(stack.ssh(f"alice+{device.uuid}", "true"), NO_IDENTITIES)
    assert_refused(stack.ssh("alice", "host", device.uuid, "true"), NO_IDENTITIES)
    stop_process(stack.worker)
    records = _audit(output[0])
    assert [(r["result"], r["held_for"]) for r in records] == [("no-identity-keys", "ssh-identity-keys")] * 2
    assert all(2000 <= r["held_ms"] < 10000 for r in records), records


def _datagrams(notify: socket.socket, quiet: float) -> list[bytes]:
    """Every datagram until none came for ``quiet`` seconds (at most 200)."""
    received = []
    notify.settimeout(quiet)
    for _ in range(200):
        try:
            received.append(notify.recv(4096))
        except TimeoutError:
            break
    return received


def _reporting_worker(stack, tmp_path, agent: str, *options: str) -> socket.socket:
    """The stack's worker started again on a new port with ``options``, telling a NOTIFY_SOCKET
    the test binds; returns that socket, once the worker accepts."""
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    stop_process(stack.worker)
    stack.port = free_port()
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
    stack.worker = start_worker(agent, stack.db, tmp_path / "host-keys", stack.port, *options, env=env)
    wait_for_worker(stack.worker, stack.port)
    return notify


def test_a_burst_of_held_users_sends_a_few_reports(stack, tmp_path):
    """Twenty users meet the emptied agent at once: each is held and retried for its second, yet
    the worker reports the capability at most once per 200 ms, and never the users' words."""
    device = stack.device()
    names = ("--agent-capability", "ssh-agent", "--keys-capability", "ssh-identity-keys")
    options = (*proxy_stack.HOLD, *names, "--max-startups", "40")  # the twenty are all let in
    notify = _reporting_worker(stack, tmp_path, stack.agent, *options)
    try:
        notify.settimeout(10)
        assert notify.recv(4096) == b"READY=1"
        empty_agent(stack.agent)
        started = time.monotonic()
        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(lambda _: stack.ssh(f"alice+{device.uuid}", "true"), range(20)))
        lasted = time.monotonic() - started
        reports = _datagrams(notify, 1)
    finally:
        stop_process(stack.worker)
        notify.close()
    assert {(r.returncode, r.stderr.decode()) for r in results} == {(255, NO_IDENTITIES + "\n")}
    assert set(reports) == {b"X_CAPABILITY_BROKEN=ssh-identity-keys\nX_REASON=no-identity-keys"}
    assert 1 <= len(reports) <= lasted / 0.2 + 2, (len(reports), lasted)


def test_an_unreachable_agent_is_reported_as_the_agent_capability(stack, tmp_path):
    device = stack.device()
    no_agent = str(tmp_path / "no-agent.sock")
    notify = _reporting_worker(
        stack, tmp_path, no_agent, *proxy_stack.HOLD, "--agent-capability", "ssh-agent"
    )
    try:
        result = stack.ssh(f"alice+{device.uuid}", "true")
        reports = _datagrams(notify, 1)
    finally:
        stop_process(stack.worker)
        notify.close()
    assert result.returncode == 255 and b"cannot reach its ssh-agent" in result.stderr
    assert reports[0] == b"READY=1"
    assert reports[1].startswith(b"X_CAPABILITY_BROKEN=ssh-agent\nX_REASON=")
