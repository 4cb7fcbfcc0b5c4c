"""A unix-socket relay between the proxy and a real ssh-agent, for catching a login mid-signature.

The proxy is given the relay's socket as its agent; each connection is relayed to the real
agent's socket (``target``), message by message. ``on_sign``, when set, is called once, on the
first sign request (SSH_AGENTC_SIGN_REQUEST) that arrives, before it would be relayed: the test
kills the real agent there, and the relay drops that connection, as the agent's death does. A
connection made while no agent listens at ``target`` is closed at once, as a dead agent's socket
refuses. Threads, bounded in time (``tcp_relay.Relay``); closed with ``close``.
"""

import socket
import struct
import threading
from collections.abc import Callable

from tests.ssh.tcp_relay import Relay

SIGN_REQUEST = 13


class AgentRelay(Relay):
    def __init__(self, path: str, target: str, timeout: float = 60) -> None:
        self.path = path
        self.target = target
        self.on_sign: Callable[[], None] | None = None
        self.signed = threading.Event()  # set once ``on_sign`` has run
        self._lock = threading.Lock()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(16)
        super().__init__(listener, timeout)

    def _take_sign_hook(self) -> Callable[[], None] | None:
        with self._lock:
            hook, self.on_sign = self.on_sign, None
            return hook

    def _relay(self, near: socket.socket) -> None:
        with near:
            far = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                far.settimeout(5)
                far.connect(self.target)
            except OSError:
                far.close()
                return
            with far:
                pending = b""  # from the proxy, past the last whole message relayed

                def forward(source: socket.socket, data: bytes) -> bool:
                    nonlocal pending
                    if source is far:
                        near.sendall(data)
                        return True
                    pending += data
                    while len(pending) >= 5 and len(pending) >= 4 + struct.unpack(">L", pending[:4])[0]:
                        size = 4 + struct.unpack(">L", pending[:4])[0]
                        message, pending = pending[:size], pending[size:]
                        if message[4] == SIGN_REQUEST:
                            hook = self._take_sign_hook()
                            if hook is not None:
                                hook()
                                self.signed.set()
                                return False  # the agent died with the request unanswered
                        far.sendall(message)
                    return True

                self._pump(near, far, forward)
