"""A TCP relay on 127.0.0.1 standing between the proxy and a device, for the pin tests.

It lets a test decide what the proxy reaches at one registered address: ``target`` can be
switched to another sshd (a device whose host key changed), and ``gate`` can hold a connection
that has arrived until the test has done something in between. Threads, bounded in time; closed
with ``close``.
"""

import select
import socket
import threading
import time


class TcpRelay:
    def __init__(self, target: int, timeout: float = 30) -> None:
        self.target = target  # the port on 127.0.0.1 that new connections are relayed to
        self.timeout = timeout
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.arrived = threading.Event()  # set when a connection has been accepted
        self.gate = threading.Event()  # connections wait for it (up to ``timeout``) before relaying
        self.gate.set()
        self._closed = threading.Event()
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
                self.arrived.set()
                threading.Thread(target=self._relay, args=(near,), daemon=True).start()

    def _relay(self, near: socket.socket) -> None:
        with near:
            if not self.gate.wait(self.timeout):
                return
            try:
                far = socket.create_connection(("127.0.0.1", self.target), timeout=self.timeout)
            except OSError:
                return
            with far:
                deadline = time.monotonic() + self.timeout
                while time.monotonic() < deadline and not self._closed.is_set():
                    ready, _, _ = select.select([near, far], [], [], 0.5)
                    for source in ready:
                        try:
                            data = source.recv(65536)
                            if data:
                                (far if source is near else near).sendall(data)
                        except OSError:  # either side dropped the connection
                            data = b""
                        if not data:
                            return
