"""Readiness and health probes the graph runs as ``exec`` checks.

``agent SOCKET``: the socket answers the ssh-agent protocol. A socket file alone proves little
(ssh-agent may have died and left it behind, or something else may listen there), so the probe
asks for the identities and expects an identities answer. Plain sockets, no Twisted: a probe
runs every few seconds and should start fast.
"""

import argparse
import os
import socket
import stat
import struct
import sys
import time

from services.shared import errors
from services.shared.errors import ServiceError

REQUEST_IDENTITIES = 11
IDENTITIES_ANSWER = 12
MAX_ANSWER = 256 * 1024  # OpenSSH's own limit on an agent message


def read_exactly(sock: socket.socket, count: int, deadline: float) -> bytes:
    data = b""
    while len(data) < count:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionResetError
        data += chunk
    return data


def probe_agent(path: str, timeout: float) -> None:
    """Return if the socket at ``path`` answers as an ssh-agent; ServiceError saying why not otherwise."""
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            raise ServiceError(f"{path}: not a socket")
    except FileNotFoundError:
        raise ServiceError(f"{path}: no such socket") from None
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(struct.pack("!LB", 1, REQUEST_IDENTITIES))
            (length,) = struct.unpack("!L", read_exactly(sock, 4, deadline))
            if not 1 <= length <= MAX_ANSWER:
                raise ServiceError(f"{path}: not an ssh-agent (bad answer length {length})")
            answer = read_exactly(sock, length, deadline)
        except TimeoutError:
            raise ServiceError(f"{path}: no answer within {timeout:g}s") from None
        except ConnectionRefusedError:
            raise ServiceError(f"{path}: connection refused (no agent listening)") from None
        except (ConnectionResetError, BrokenPipeError):
            raise ServiceError(f"{path}: not an ssh-agent (closed the connection without answering)") from None
        except OSError as error:
            raise ServiceError(f"{path}: {error.strerror}") from None
    if answer[0] != IDENTITIES_ANSWER:
        raise ServiceError(f"{path}: not an ssh-agent (answer type {answer[0]})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.probes", description=__doc__.split("\n")[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    agent = kinds.add_parser("agent", help="the socket answers the ssh-agent protocol")
    agent.add_argument("socket")
    agent.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    options = parser.parse_args(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        probe_agent(options.socket, options.timeout)
        return 0

    return errors.run(body, "probe")


if __name__ == "__main__":
    sys.exit(main())
