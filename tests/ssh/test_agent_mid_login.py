"""An ssh-agent that dies while it signs the proxy's login to a device, and comes back.

Real OpenSSH: the user's ``ssh``, the device's sshd, and two ssh-agents one after the other at
the same socket (the supervisor restarts the agent, the key loader loads the keys again). The
proxy reaches them through ``AgentRelay``, which kills the first one when the proxy's sign
request reaches it, so the login is caught mid-signature every time.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

from examples.demo.stack import ROOT, stop_process
from tests.ssh import proxy_stack
from tests.ssh.agent_relay import AgentRelay
from tests.ssh.conftest import start_agent
from tests.ssh.proxy_stack import add_to_agent

stack = proxy_stack.stack  # the fixture

DOWN = 2.0  # seconds the agent stays dead: longer than a restart takes, within the hold below
HOLD = ("--hold-timeout", "5")  # the graph's own (graphs/device-proxy.toml)


def test_a_login_caught_mid_signature_is_held_until_the_restarted_agent_signs(stack, tmp_path):
    """The agent's death fails the key as an agent failure: the hold tries the device again, on a
    new agent connection, until the restarted agent holds the key again."""
    real = tmp_path / "real-agent.sock"
    agents = [start_agent(real)]
    relay = AgentRelay(str(tmp_path / "relay.sock"), str(real))
    try:
        add_to_agent(str(real), stack.tmp / "proxy_identity")
        stack.agent = relay.path
        stack.restart(*HOLD)
        device = stack.device()

        def kill_agent() -> None:
            os.kill(agents[0].pid, signal.SIGKILL)
            agents[0].wait(timeout=10)
            real.unlink()  # the supervisor empties the agent's place before it starts again

        relay.on_sign = kill_agent
        with ThreadPoolExecutor(1) as pool:
            user = pool.submit(stack.ssh, f"alice+{device.uuid}", "echo survived", stdin=subprocess.DEVNULL)
            assert relay.signed.wait(15), "no sign request reached the agent"
            time.sleep(DOWN)
            agents.append(start_agent(real))
            add_to_agent(str(real), stack.tmp / "proxy_identity")  # what the key loader's re-run does
            result = user.result(timeout=60)
        assert (result.returncode, result.stdout) == (0, b"survived\n"), result.stderr
    finally:
        relay.close()
        for agent in agents:
            stop_process(agent)


# Connects to the agent at argv[1], waits until SIGKILL of pid argv[2] has closed the connection,
# then asks for a signature on it: prints what agent_client.sign raised.
_SIGN_AFTER_DEATH = textwrap.dedent(
    """
    import os, signal, sys
    from twisted.internet import defer, task
    from services.shared import agent_client
    from services.shared.errors import ServiceError

    async def main(reactor):
        path, pid = sys.argv[1], int(sys.argv[2])
        client = await agent_client.connect(reactor, path, 5)
        os.kill(pid, signal.SIGKILL)
        for _ in range(200):
            if not client.transport.connected:
                break
            await task.deferLater(reactor, 0.05)
        try:
            await agent_client.sign(reactor, client, path, b"blob", b"data", 0, 10)
        except ServiceError as failure:
            print(failure.message)

    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
    """
)


def test_a_request_on_a_connection_the_agent_closed_fails_at_once(tmp_path):
    """It used to be written to nowhere and wait out the timeout (10 s here): no answer."""
    path = tmp_path / "agent.sock"
    agent = start_agent(path)
    try:
        run = subprocess.run(
            [sys.executable, "-c", _SIGN_AFTER_DEATH, str(path), str(agent.pid)],
            cwd=ROOT, capture_output=True, text=True, timeout=25,
        )  # fmt: skip
    finally:
        stop_process(agent)
    assert run.stdout == f"agent {path}: connection lost during sign\n", run.stderr
