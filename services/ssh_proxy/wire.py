"""SSH message numbers as the proxy names them, and the few encodings it writes itself (RFC 4252, 4254).

The numbers are Conch's (``twisted.conch.ssh.connection`` and ``userauth``), not written again
here; the short names are the proxy's, which reads the number of every relayed message against them.
"""

import struct

from twisted.conch.ssh.common import NS
from twisted.conch.ssh.connection import (
    EXTENDED_DATA_STDERR,
    OPEN_ADMINISTRATIVELY_PROHIBITED,
    OPEN_CONNECT_FAILED,
)
from twisted.conch.ssh.connection import MSG_CHANNEL_CLOSE as CHANNEL_CLOSE
from twisted.conch.ssh.connection import MSG_CHANNEL_DATA as CHANNEL_DATA
from twisted.conch.ssh.connection import MSG_CHANNEL_EOF as CHANNEL_EOF
from twisted.conch.ssh.connection import MSG_CHANNEL_EXTENDED_DATA as CHANNEL_EXTENDED_DATA
from twisted.conch.ssh.connection import MSG_CHANNEL_FAILURE as CHANNEL_FAILURE
from twisted.conch.ssh.connection import MSG_CHANNEL_OPEN as CHANNEL_OPEN
from twisted.conch.ssh.connection import MSG_CHANNEL_OPEN_CONFIRMATION as CHANNEL_OPEN_CONFIRMATION
from twisted.conch.ssh.connection import MSG_CHANNEL_OPEN_FAILURE as CHANNEL_OPEN_FAILURE
from twisted.conch.ssh.connection import MSG_CHANNEL_REQUEST as CHANNEL_REQUEST
from twisted.conch.ssh.connection import MSG_CHANNEL_SUCCESS as CHANNEL_SUCCESS
from twisted.conch.ssh.connection import MSG_CHANNEL_WINDOW_ADJUST as CHANNEL_WINDOW_ADJUST
from twisted.conch.ssh.connection import MSG_GLOBAL_REQUEST as GLOBAL_REQUEST
from twisted.conch.ssh.connection import MSG_REQUEST_FAILURE as REQUEST_FAILURE
from twisted.conch.ssh.connection import MSG_REQUEST_SUCCESS as REQUEST_SUCCESS
from twisted.conch.ssh.userauth import MSG_USERAUTH_REQUEST as USERAUTH_REQUEST

# Channel messages that start with the recipient channel: the ids the proxy rewrites.
CHANNEL_MESSAGES = range(CHANNEL_OPEN_CONFIRMATION, CHANNEL_FAILURE + 1)

u32 = struct.Struct(">L")
u32x2 = struct.Struct(">2L")
u32x3 = struct.Struct(">3L")
u32x4 = struct.Struct(">4L")

# A session channel the proxy confirms itself uses OpenSSH's packet size, so the data it later
# passes to the device's channel (same limit in sshd) never needs splitting.
MAX_PACKET = 32768


def open_failure(peer: int, reason: int, message: str) -> bytes:
    return u32.pack(peer) + u32.pack(reason) + NS(message.encode()) + NS(b"")


def request(peer: int, name: bytes, want_reply: bool, data: bytes = b"") -> bytes:
    return u32.pack(peer) + NS(name) + bytes((want_reply,)) + data


def publickey_to_sign(session_id: bytes, user: bytes, service: bytes, algorithm: bytes, blob: bytes) -> bytes:
    """What a signed public-key USERAUTH_REQUEST signs (RFC 4252, section 7)."""
    request = NS(user) + NS(service) + NS(b"publickey") + b"\x01" + NS(algorithm) + NS(blob)
    return NS(session_id) + bytes((USERAUTH_REQUEST,)) + request
