"""A TCP relay on 127.0.0.1 standing between the proxy and a device, for the pin tests.

It lets a test decide what the proxy reaches at one registered address: ``target`` can be
switched to another sshd (a device whose host key changed), and ``gate`` can hold a connection
that has arrived until the test has done something in between. Threads, bounded in time; closed
with ``close``. ``Relay``, its accepting and relaying loops, serves ``agent_relay`` too.
"""

import select
import socket
import threading
import time


class Relay:
    """Accepts connections on ``listener`` in a thread, each one relayed by ``_relay`` in a
    thread of its own, until ``close``; ``timeout`` bounds each one."""

    def __init__(self, listener: socket.socket, timeout: float) -> None:
        self.listener = listener
        self.listener.settimeout(0.2)
        self.timeout = timeout
        self.arrived = threading.Event()  # set when a connection has been accepted
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
        raise NotImplementedError

    def _pump(self, near: socket.socket, far: socket.socket, forward) -> None:
        """Relay between ``near`` and ``far`` until either side closes, ``forward(source, data)``
        (which sends ``data`` on) returns False, ``timeout`` runs out or the relay is closed."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and not self._closed.is_set():
            ready, _, _ = select.select([near, far], [], [], 0.5)
            for source in ready:
                try:
                    data = source.recv(65536)
                    if not data or not forward(source, data):
                        return
                except OSError:  # either side dropped the connection
                    return


class TcpRelay(Relay):
    def __init__(self, target: int, timeout: float = 30) -> None:
        self.target = target  # the port on 127.0.0.1 that new connections are relayed to
        self.gate = threading.Event()  # connections wait for it (up to ``timeout``) before relaying
        self.gate.set()
        super().__init__(socket.create_server(("127.0.0.1", 0)), timeout)
        self.port = self.listener.getsockname()[1]

    def _relay(self, near: socket.socket) -> None:
        with near:
            if not self.gate.wait(self.timeout):
                return
            try:
                far = socket.create_connection(("127.0.0.1", self.target), timeout=self.timeout)
            except OSError:
                return
            with far:

                def forward(source: socket.socket, data: bytes) -> bool:
                    (far if source is near else near).sendall(data)
                    return True

                self._pump(near, far, forward)
