"""SSH connection-layer message numbers and the few encodings the proxy writes itself (RFC 4252, 4254)."""

import struct

from twisted.conch.ssh.common import NS

USERAUTH_REQUEST = 50
GLOBAL_REQUEST = 80
REQUEST_SUCCESS = 81
REQUEST_FAILURE = 82
CHANNEL_OPEN = 90
CHANNEL_OPEN_CONFIRMATION = 91
CHANNEL_OPEN_FAILURE = 92
CHANNEL_WINDOW_ADJUST = 93
CHANNEL_DATA = 94
CHANNEL_EXTENDED_DATA = 95
CHANNEL_EOF = 96
CHANNEL_CLOSE = 97
CHANNEL_REQUEST = 98
CHANNEL_SUCCESS = 99
CHANNEL_FAILURE = 100

OPEN_ADMINISTRATIVELY_PROHIBITED = 1
OPEN_CONNECT_FAILED = 2
EXTENDED_DATA_STDERR = 1

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
