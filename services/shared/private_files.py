"""What the services keep on disk is private to the user they run as: directories 0700, files 0600.

The registry says who may reach which device and the host keys are the proxy's identity; like
OpenSSH with its host keys and ``~/.ssh``, nothing of it is for other local users to read. The
modes are set explicitly, not left to the umask the service was started with.
"""

import os
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def directory(path: Path) -> None:
    """Create ``path`` and each missing parent 0700; a directory that exists is left as it is.

    An existing directory may be shared (``/tmp``, a volume's root): changing its mode is not
    the service's to do.
    """
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    for made in reversed(missing):
        made.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
        os.chmod(made, DIRECTORY_MODE)


def file(path: Path) -> None:
    """Create ``path`` empty if absent; either way make it 0600 (the service owns it)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    os.chmod(path, FILE_MODE)
