"""The sd_notify protocol: one datagram socket, ``RUNTIME_DIR/notify.sock``, given to services as
``NOTIFY_SOCKET`` so daemons written for systemd (``READY=1``, ``STATUS=…``) work unchanged.

Beyond systemd's fields, a unit may report a capability it requires as broken
(``X_CAPABILITY_BROKEN``, docs/notify.md): the supervisor checks it at once (``Runtime.notify``).

The sender is identified by its credentials (SO_PASSCRED): its pid, or the process group it is
in, since every unit leads its own group (a ``sh -c`` wrapper's child counts as the unit).
"""

import os
import socket
import struct
from collections.abc import Callable

import trio

_UCRED = struct.Struct("3i")


def parse(message: bytes) -> dict[str, str]:
    """``KEY=VALUE`` lines as a dict. A key sent on several lines keeps every value, one a line
    (``X_CAPABILITY_BROKEN`` may name several capabilities: see docs/notify.md)."""
    fields: dict[str, str] = {}
    for line in message.decode(errors="replace").split("\n"):  # sd_notify's separator, only
        key, sep, value = line.partition("=")
        if sep:
            fields[key] = f"{fields[key]}\n{value}" if key in fields else value
    return fields


async def serve_notify(
    path: str, deliver: Callable[[int, dict[str, str]], None], task_status=trio.TASK_STATUS_IGNORED
) -> None:
    """Receive notifications forever, calling ``deliver(sender_pid, fields)`` for each."""
    if os.path.exists(path):
        os.unlink(path)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    with sock:
        await sock.bind(path)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        task_status.started()
        while True:
            data, ancillary, _flags, _address = await sock.recvmsg(4096, socket.CMSG_SPACE(_UCRED.size))
            pid = next(
                (
                    _UCRED.unpack(cdata[: _UCRED.size])[0]
                    for level, kind, cdata in ancillary
                    if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
                ),
                None,
            )
            if pid is not None:
                deliver(pid, parse(data))
