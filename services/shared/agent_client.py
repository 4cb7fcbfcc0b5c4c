"""Talking to ssh-agent with Conch's ``SSHAgentClient``, with the failure modes it lacks.

Conch's client never fails a pending request when the agent dies or stalls: the Deferred just
never fires. Here every request carries a timeout, and a lost connection fails what is pending
and every later request, so a caller always gets an answer or a ``ServiceError`` that names the
socket.

Conch's ``signData`` also always sends sign flags 0, which makes an RSA key sign SHA-1
``ssh-rsa`` (refused by OpenSSH 8.8+); ``sign`` lets the caller choose rsa-sha2-256/512.
"""

import struct

from twisted.conch.ssh import agent
from twisted.conch.ssh.agent import SSHAgentClient
from twisted.conch.ssh.common import NS, getNS
from twisted.internet import defer, endpoints, error

from services.shared.errors import ServiceError


class AgentClient(SSHAgentClient):
    """An agent client that fails its pending requests, and any later one, once the connection
    is lost (Conch's would write the request to nowhere and wait for ever)."""

    lost = False

    def sendRequest(self, reqType, data):
        if self.lost:
            return defer.fail(error.ConnectionLost("the agent closed the connection"))
        return super().sendRequest(reqType, data)

    def connectionLost(self, reason):
        self.lost = True
        pending, self.deferreds = self.deferreds, []
        for d in pending:
            d.errback(error.ConnectionLost("the agent closed the connection"))


async def connect(reactor, path: str, timeout: float) -> AgentClient:
    """Connect to the agent socket at ``path``, or ServiceError saying why not."""
    endpoint = endpoints.UNIXClientEndpoint(reactor, path, timeout=timeout)
    try:
        return await endpoints.connectProtocol(endpoint, AgentClient())
    except error.ConnectError as problem:
        reason = "no such socket" if "No such file" in str(problem) else "connection refused"
        raise ServiceError(f"agent {path}: {reason}") from None


async def call(reactor, client: AgentClient, path: str, what: str, d: defer.Deferred, timeout: float):
    """Await an agent request; ServiceError naming the socket and ``what`` on timeout or error."""
    d.addTimeout(timeout, reactor)
    try:
        return await d
    except defer.TimeoutError:
        client.transport.abortConnection()
        raise ServiceError(f"agent {path}: no answer to {what} within {timeout:g}s") from None
    except error.ConnectionLost:
        raise ServiceError(f"agent {path}: connection lost during {what}") from None
    except Exception as problem:  # the agent answered FAILURE or garbage
        raise ServiceError(f"agent {path}: {what} failed: {problem}") from None


def _signature(response: bytes) -> bytes:
    if response[:1] != bytes((agent.AGENT_SIGN_RESPONSE,)):
        raise ValueError("unexpected answer to a sign request")
    return getNS(response[1:])[0]


async def sign(
    reactor, client: AgentClient, path: str, blob: bytes, data: bytes, flags: int, timeout: float
) -> bytes:
    """The agent's signature of ``data`` with the key whose public blob is ``blob``.

    ``flags`` are the agent protocol's sign flags: 2 asks an RSA key for rsa-sha2-256, 4 for
    rsa-sha2-512, 0 signs with the key's own algorithm. ServiceError naming the socket if the agent
    refuses (the key was removed since it was listed), answers garbage, or does not answer.
    """
    request = NS(blob) + NS(data) + struct.pack("!L", flags)
    d = client.sendRequest(agent.AGENTC_SIGN_REQUEST, request).addCallback(_signature)
    return await call(reactor, client, path, "sign", d, timeout)
