"""The proxy's own host keys: made on first start, then shared by every worker.

Users pin the proxy's host key, so all replicas must present the same one. Two workers starting
at once may both find the directory empty: each writes its key to a private temporary file and
links it into place with ``os.link``, which fails if the name exists, so the first key wins and
the loser reads the winner's key instead of replacing it under a worker already serving it.
"""

import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from twisted.conch.ssh import keys

from services.shared import private_files
from services.shared.errors import ServiceError

_GENERATORS = {
    "ssh_host_ed25519_key": lambda: ed25519.Ed25519PrivateKey.generate(),
    "ssh_host_rsa_key": lambda: rsa.generate_private_key(public_exponent=65537, key_size=3072),
}


def _create(path: Path, make) -> None:
    """Write a new key to ``path`` unless another worker got there first."""
    key = keys.Key(make())
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(key.toString("OPENSSH"))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        else:
            path.with_name(path.name + ".pub").write_bytes(key.public().toString("OPENSSH") + b"\n")
    finally:
        os.unlink(temporary)


def load_or_create(directory: str) -> dict[bytes, keys.Key]:
    """The host keys by SSH type, created in ``directory`` if absent; ServiceError naming a bad file."""
    where = Path(directory)
    try:
        private_files.directory(where)
    except OSError as error:
        raise ServiceError(f"{where}: cannot create the host key directory: {error.strerror}") from None
    found = {}
    for name, make in _GENERATORS.items():
        path = where / name
        if not path.exists():
            try:
                _create(path, make)
            except OSError as error:
                raise ServiceError(f"{path}: cannot write the host key: {error.strerror}") from None
        try:
            key = keys.Key.fromFile(str(path))
        except Exception:  # the parse error may quote key bytes
            raise ServiceError(f"{path}: unreadable or malformed host key") from None
        found[key.sshType()] = key
    return found
