"""The control socket's client: plain blocking sockets, no trio, so ``supervisor status`` and
friends start fast. The protocol is described in ``supervisor.runtime.control`` and its messages
are in ``supervisor.protocol``."""

import json
import socket
from collections.abc import Iterator

from supervisor.protocol import LIMIT, encode


class ControlError(Exception):
    """The control socket cannot be reached, or answered with an error."""


class Unreachable(ControlError):
    """No supervisor answers on the control socket (none runs there, or it went away)."""


def request(path: str, message: dict, timeout: float | None = None) -> dict:
    """Send one request to the supervisor at ``path`` and return its answer (blocking client)."""
    with _connect(path, timeout) as sock:
        try:
            sock.sendall(encode(message))
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = sock.recv(LIMIT)
                if not chunk:
                    break
                answer += chunk
        except OSError as error:
            raise Unreachable(f"{path}: {error.strerror or error}") from None
    return _answer(path, answer)


def watch(path: str, message: dict, timeout: float | None = None) -> Iterator[dict]:
    """Send a ``watch`` request: yield its answer, then each update as it comes, until the
    supervisor closes the connection (Unreachable); ``timeout`` bounds connecting and the answer."""
    with _connect(path, timeout) as sock, sock.makefile("rb") as lines:
        try:
            sock.sendall(encode(message))
            yield _answer(path, lines.readline())
            sock.settimeout(None)  # then wait for as long as nothing changes
            for line in lines:
                yield json.loads(line)
        except OSError as error:
            raise Unreachable(f"{path}: {error.strerror or error}") from None
    raise Unreachable(f"{path}: the supervisor closed the connection")


def _connect(path: str, timeout: float | None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except FileNotFoundError:
        sock.close()
        raise Unreachable(f"{path}: no control socket (is the supervisor running?)") from None
    except ConnectionRefusedError:
        sock.close()
        raise Unreachable(f"{path}: nothing is listening (the supervisor is not running)") from None
    except OSError as error:
        sock.close()
        raise Unreachable(f"{path}: {error.strerror or error}") from None
    return sock


def _answer(path: str, line: bytes) -> dict:
    if not line:
        raise Unreachable(f"{path}: the supervisor closed the connection without answering")
    reply = json.loads(line)
    if not reply.get("ok"):
        raise ControlError(reply.get("error", "request failed"))
    return reply
