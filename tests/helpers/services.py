"""The services' programs as the supervisor runs them, the keys they take, and their output read
line by line with a bound on the wait."""

import os
import select
import subprocess
import sys
import time
from pathlib import Path

from examples.demo.stack import ROOT, keypair


def keygen(directory: Path, kind: str, name: str | None = None, fmt: str | None = None) -> tuple[Path, str]:
    """A new unencrypted key pair by ssh-keygen in ``directory``: (private key path, public key line).

    ``kind`` is ed25519, ecdsa or rsa; ``fmt`` "PEM" writes the private key in PEM (ecdsa, rsa).
    """
    path = directory / (name or f"id_{kind}")
    return path, keypair(path, kind, fmt).read_text().strip()


def run_service(name: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """``python -m services.NAME ARGS`` as the supervisor would run it; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", f"services.{name}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_line(process: subprocess.Popen, timeout: float = 15) -> bytes:
    """One line of the process's stdout within ``timeout`` seconds, read byte by byte from the pipe
    so that nothing is left in a buffer where later reads (``communicate``) would not see it."""
    line, deadline = b"", time.monotonic() + timeout
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([process.stdout], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            raise AssertionError(f"no line within {timeout}s (so far {line!r})")
        chunk = os.read(process.stdout.fileno(), 1)
        if not chunk:
            raise AssertionError(f"stdout closed (so far {line!r}): {process.stderr.read()!r}")
        line += chunk
    return line
