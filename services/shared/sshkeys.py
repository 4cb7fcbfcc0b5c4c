"""Reading SSH keys from files, and naming them in logs by type and fingerprint only.

Conch's own parse errors may quote the bytes they could not parse (``cannot guess the type of
b'...'``), so they are never passed on: every message here is written to be safe to log.
"""

from pathlib import Path

from twisted.conch.ssh import keys

from services.shared.errors import ServiceError

KINDS = {"Ed25519": "ED25519", "EC": "ECDSA", "RSA": "RSA", "DSA": "DSA"}


def fingerprint(key: keys.Key) -> str:
    """The fingerprint as ``ssh-keygen -l`` and ``ssh-add -l`` print it."""
    return "SHA256:" + key.fingerprint(keys.FingerprintFormats.SHA256_BASE64).rstrip("=")


def describe(key: keys.Key) -> str:
    """``ED25519 SHA256:...``: enough to recognise a key, nothing secret."""
    return f"{KINDS.get(key.type(), key.type())} {fingerprint(key)}"


def looks_private(head: bytes) -> bool:
    """Whether a file's first bytes are a PEM or OpenSSH private key armour."""
    first = head.lstrip().split(b"\n", 1)[0]
    return first.startswith(b"-----BEGIN ") and first.rstrip().endswith(b"PRIVATE KEY-----")


def read_private_key(path: Path) -> keys.Key:
    """Parse an unencrypted private key (OpenSSH or PEM); ServiceError naming the file otherwise."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ServiceError(f"{path}: cannot read: {error.strerror}") from None
    try:
        key = keys.Key.fromString(data)
    except keys.EncryptedKeyError:
        raise ServiceError(
            f"{path}: key is encrypted with a passphrase; keys must be stored unencrypted"
        ) from None
    except Exception:  # any parse error: its text may quote key bytes
        raise ServiceError(f"{path}: malformed or unsupported private key") from None
    if key.isPublic():
        raise ServiceError(f"{path}: holds a public key, not a private key")
    return key


def parse_public_line(line: str, where: str) -> keys.Key:
    """Parse one OpenSSH public key line; ServiceError naming ``where`` (file and line) otherwise."""
    try:
        key = keys.Key.fromString(line.encode(), type="public_openssh")
    except Exception:
        raise ServiceError(f"{where}: not an OpenSSH public key line") from None
    if not key.isPublic():
        raise ServiceError(f"{where}: not an OpenSSH public key line")
    return key


def read_public_lines(path: str) -> tuple[str, ...]:
    """The public key lines of a file (blank lines and ``#`` comments skipped), each validated."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not a text file"
        raise ServiceError(f"{path}: cannot read: {reason}") from None
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = " ".join(raw.split())
        if line and not line.startswith("#"):
            parse_public_line(line, f"{path}:{number}")
            lines.append(line)
    if not lines:
        raise ServiceError(f"{path}: no public key in file")
    return tuple(lines)
