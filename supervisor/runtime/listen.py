"""Sockets the supervisor opens once per service and hands to every replica (socket activation).

They live as long as the supervisor, so a restarted worker finds the connections queued while
it was down, and replicas share a port without racing to bind it.
"""

import os
import socket

from supervisor.graph.addresses import AddressError, parse_listen
from supervisor.runtime.launch import LaunchError


def open_listener(spec: str) -> socket.socket:
    """A listening socket for ``tcp:HOST:PORT`` or ``unix:PATH``; LaunchError saying why not."""
    try:
        where = parse_listen(spec)
    except AddressError as error:
        raise LaunchError(f"listen: {error}") from None
    sock = None
    try:
        if where.family == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            if os.path.exists(where.host):
                os.unlink(where.host)
            sock.bind(where.host)
        else:
            info = socket.getaddrinfo(where.host, where.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
            sock = socket.socket(info[0], socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(info[4])
        sock.listen(128)
    except OSError as error:
        if sock is not None:
            sock.close()
        raise LaunchError(f"cannot listen on {spec}: {error.strerror or error}") from None
    return sock
