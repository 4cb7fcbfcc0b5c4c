"""The proxy's host keys the web terminal accepts: read at start, and again only when they change.

Every terminal session logs in to the proxy and checks its host key against the ``*.pub`` files
of the proxy's host-keys directory. Reading and parsing them at every session was file I/O and
key parsing in the reactor's thread for keys that change only at a rotation; so they are kept,
with what ``stat`` said of each file when they were read, and read again when a file is added,
removed or replaced: an operator who rotates the proxy's keys by replacing the files needs no
restart of the web terminal, as before, and its log says when the change was seen.
"""

import os
from pathlib import Path

from twisted.logger import Logger

from services.shared import proxy_login

_log = Logger()


def _files(directory: str) -> tuple[tuple[str, int, int, int, int], ...]:
    """What says that a ``*.pub`` of ``directory`` changed: each one's name, inode, size, mtime
    and ctime (any write or replacement changes the ctime, even one that restores the mtime)."""
    seen = []
    for path in sorted(Path(directory).glob("*.pub")):
        try:
            info = os.stat(path)
        except OSError:  # gone meanwhile: the read that follows will not find it either
            continue
        seen.append((path.name, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
    return tuple(seen)


class ProxyKeys:
    """The blobs of the proxy's public host keys in ``directory``, as of the last change."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._read_at: tuple | None = None  # ``_files`` when ``_keys`` was read
        self._keys: set[bytes] = set()

    def current(self) -> set[bytes]:
        """The keys; ServiceError (as ``proxy_login.known_host_keys``) if the directory has none."""
        files = _files(self.directory)
        if files != self._read_at:
            keys = proxy_login.known_host_keys(self.directory)
            if self._read_at is not None:
                _log.warn(
                    "the SSH proxy's host keys in {directory} changed: {count} accepted now",
                    directory=self.directory,
                    count=len(keys),
                )
            self._keys, self._read_at = keys, files
        return self._keys
