"""A unix-socket relay between the proxy and a real ssh-agent, for catching a login mid-signature.

The proxy is given the relay's socket as its agent; each connection is relayed to the real
agent's socket (``target``), message by message. ``on_sign``, when set, is called once, on the
first sign request (SSH_AGENTC_SIGN_REQUEST) that arrives, before it would be relayed: the test
kills the real agent there, and the relay drops that connection, as the agent's death does. A
connection made while no agent listens at ``target`` is closed at once, as a dead agent's socket
refuses. Threads, bounded in time; closed with ``close``.
"""

import select
import socket
import struct
import threading
import time
from collections.abc import Callable

SIGN_REQUEST = 13


class AgentRelay:
    def __init__(self, path: str, target: str, timeout: float = 60) -> None:
        self.path = path
        self.target = target
        self.timeout = timeout
        self.on_sign: Callable[[], None] | None = None
        self.signed = threading.Event()  # set once ``on_sign`` has run
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self._closed = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed.set()

    def _accept(self) -> None:
        with self.listener:
            while not self._closed.is_set():
                try:
                    near, _ = self.listener.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=self._relay, args=(near,), daemon=True).start()

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
                pending = b""  # from the proxy, up to the end of the last whole message
                deadline = time.monotonic() + self.timeout
                while time.monotonic() < deadline and not self._closed.is_set():
                    ready, _, _ = select.select([near, far], [], [], 0.5)
                    for source in ready:
                        try:
                            data = source.recv(65536)
                        except OSError:
                            data = b""
                        if not data:
                            return
                        if source is far:
                            near.sendall(data)
                            continue
                        pending += data
                        while len(pending) >= 5 and len(pending) >= 4 + struct.unpack(">L", pending[:4])[0]:
                            size = 4 + struct.unpack(">L", pending[:4])[0]
                            message, pending = pending[:size], pending[size:]
                            if message[4] == SIGN_REQUEST:
                                hook = self._take_sign_hook()
                                if hook is not None:
                                    hook()
                                    self.signed.set()
                                    return  # the agent died with the request unanswered
                            far.sendall(message)
