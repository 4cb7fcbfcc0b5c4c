"""A WebSocket client for what a page would never send: wrong origins, no cookie, floods, no acks.

wsproto (which Twisted's WebSocket is built on) does the framing over a plain socket; every read
has a deadline.
"""

import json
import socket
import time

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)


class Refused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"refused with HTTP {status}")
        self.status = status


class Client:
    """One WebSocket to ``/ws?device=DEVICE``; connecting raises ``Refused`` on an HTTP answer."""

    def __init__(
        self,
        port: int,
        device: str,
        cookie: str | None,
        origin: str | None,
        timeout: float = 10,
        answer_pings: bool = True,  # as browsers do
    ):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.answer_pings = answer_pings
        self.pings = 0
        self.output = bytearray()  # binary messages received
        self.controls: list[dict] = []  # text messages received
        self.closed = False
        headers = [(b"Origin", origin.encode())] if origin else []
        if cookie:
            headers.append((b"Cookie", cookie.encode()))
        host = f"127.0.0.1:{port}"
        self.sock.sendall(
            self.ws.send(Request(host=host, target=f"/ws?device={device}", extra_headers=headers))
        )
        deadline = time.monotonic() + timeout
        accepted = False
        while not accepted:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer to the WebSocket handshake within {timeout}s")
            for event in self._events(deadline):
                if isinstance(event, RejectConnection):
                    self.sock.close()
                    raise Refused(event.status_code)
                accepted = accepted or isinstance(event, AcceptConnection)
                self._take(event)  # what came with the acceptance

    def _events(self, deadline: float):
        self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return []
        except ConnectionResetError:
            data = b""
        self.ws.receive_data(data or None)
        if not data:
            self.closed = True
        return list(self.ws.events())

    def read(self, seconds: float) -> None:
        """Take in what arrives for ``seconds`` (or until the server closes)."""
        deadline = time.monotonic() + seconds
        while not self.closed and time.monotonic() < deadline:
            for event in self._events(deadline):
                self._take(event)

    def _take(self, event) -> None:
        if isinstance(event, BytesMessage):
            self.output += event.data
        elif isinstance(event, TextMessage):
            self.controls.append(json.loads(event.data))
        elif isinstance(event, Ping):
            self.pings += 1
            if self.answer_pings and self.ws.state is ConnectionState.OPEN:
                self.sock.sendall(self.ws.send(event.response()))
        elif isinstance(event, (CloseConnection, RejectData)):
            self.closed = True

    def read_until(self, done, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not done() and not self.closed and time.monotonic() < deadline:
            self.read(0.05)
        assert done(), (
            f"not seen within {seconds}s; output {bytes(self.output[-300:])!r}, controls {self.controls}"
        )

    def send_json(self, message: dict) -> None:
        self.sock.sendall(self.ws.send(TextMessage(json.dumps(message))))

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(self.ws.send(BytesMessage(data)))

    def close(self) -> None:
        self.sock.close()
