"""SSH message numbers as the proxy names them, and the few encodings it writes itself (RFC 4252, 4254).

The numbers are Conch's (``twisted.conch.ssh.connection`` and ``userauth``), not written again
here; the short names are the proxy's, which reads the number of every relayed message against them.
"""

import struct

from twisted.conch.ssh import connection, userauth
from twisted.conch.ssh.common import NS

CHANNEL_CLOSE = connection.MSG_CHANNEL_CLOSE
CHANNEL_DATA = connection.MSG_CHANNEL_DATA
CHANNEL_EOF = connection.MSG_CHANNEL_EOF
CHANNEL_EXTENDED_DATA = connection.MSG_CHANNEL_EXTENDED_DATA
CHANNEL_FAILURE = connection.MSG_CHANNEL_FAILURE
CHANNEL_OPEN = connection.MSG_CHANNEL_OPEN
CHANNEL_OPEN_CONFIRMATION = connection.MSG_CHANNEL_OPEN_CONFIRMATION
CHANNEL_OPEN_FAILURE = connection.MSG_CHANNEL_OPEN_FAILURE
CHANNEL_REQUEST = connection.MSG_CHANNEL_REQUEST
CHANNEL_SUCCESS = connection.MSG_CHANNEL_SUCCESS
CHANNEL_WINDOW_ADJUST = connection.MSG_CHANNEL_WINDOW_ADJUST
GLOBAL_REQUEST = connection.MSG_GLOBAL_REQUEST
REQUEST_FAILURE = connection.MSG_REQUEST_FAILURE
REQUEST_SUCCESS = connection.MSG_REQUEST_SUCCESS
USERAUTH_REQUEST = userauth.MSG_USERAUTH_REQUEST

OPEN_ADMINISTRATIVELY_PROHIBITED = connection.OPEN_ADMINISTRATIVELY_PROHIBITED
OPEN_CONNECT_FAILED = connection.OPEN_CONNECT_FAILED
EXTENDED_DATA_STDERR = connection.EXTENDED_DATA_STDERR

# Channel messages that start with the recipient channel: the ids the proxy rewrites.
CHANNEL_MESSAGES = range(CHANNEL_OPEN_CONFIRMATION, CHANNEL_FAILURE + 1)

u32 = struct.Struct(">L")
u32x2 = struct.Struct(">2L")
u32x3 = struct.Struct(">3L")
u32x4 = struct.Struct(">4L")

# The fields each connection-layer message starts with (RFC 4254): ``u`` uint32, ``s`` string,
# ``b`` boolean. The proxy reads these; a message too short for them is malformed.
_FIELDS = {
    GLOBAL_REQUEST: "sb",
    CHANNEL_OPEN: "suuu",
    CHANNEL_OPEN_CONFIRMATION: "uuuu",
    CHANNEL_OPEN_FAILURE: "uuss",
    CHANNEL_WINDOW_ADJUST: "uu",
    CHANNEL_DATA: "us",
    CHANNEL_EXTENDED_DATA: "uus",
    CHANNEL_EOF: "u",
    CHANNEL_CLOSE: "u",
    CHANNEL_REQUEST: "usb",
    CHANNEL_SUCCESS: "u",
    CHANNEL_FAILURE: "u",
}


def well_formed(number: int, payload: bytes) -> bool:
    """Whether ``payload`` holds every field a message ``number`` starts with."""
    offset = 0
    for field in _FIELDS.get(number, ""):
        if field == "s":
            if len(payload) < offset + 4:
                return False
            offset += 4 + u32.unpack_from(payload, offset)[0]
        else:
            offset += 4 if field == "u" else 1
    return len(payload) >= offset


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
