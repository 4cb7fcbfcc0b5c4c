"""Ports on 127.0.0.1 for the servers the tests and benches start, and whether SSH answers on one."""

import socket


def free_port() -> int:
    """A port nothing listens on now (another process may take it before the caller binds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts_ssh(port: int) -> bool:
    """Whether an SSH server on ``port`` accepts a connection and sends its banner."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            return s.recv(4).startswith(b"SSH-")
    except OSError:
        return False
