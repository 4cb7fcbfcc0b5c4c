"""The control socket's client: plain blocking sockets, no trio, so ``supervisor status`` and
friends start fast. The protocol is described in ``supervisor.runtime.control``."""

import json
import socket

LIMIT = 65536
"""Longest request or answer line, in bytes."""


class ControlError(Exception):
    """The control socket cannot be reached, or answered with an error."""


def request(path: str, message: dict, timeout: float | None = None) -> dict:
    """Send one request to the supervisor at ``path`` and return its answer (blocking client)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
            sock.sendall(json.dumps(message).encode() + b"\n")
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = sock.recv(LIMIT)
                if not chunk:
                    break
                answer += chunk
        except FileNotFoundError:
            raise ControlError(f"{path}: no control socket (is the supervisor running?)") from None
        except ConnectionRefusedError:
            raise ControlError(f"{path}: nothing is listening (the supervisor is not running)") from None
        except OSError as error:
            raise ControlError(f"{path}: {error.strerror or error}") from None
    if not answer:
        raise ControlError(f"{path}: the supervisor closed the connection without answering")
    reply = json.loads(answer)
    if not reply.get("ok"):
        raise ControlError(reply.get("error", "request failed"))
    return reply
