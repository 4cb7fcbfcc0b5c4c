"""The limits an SSH server is expected to have, each driven by the bytes a hostile client sends.

Real OpenSSH clients where they can do it, raw sockets before the SSH handshake, and the Conch
client of ``conch_client`` for what OpenSSH's client will not do (stall after the key exchange,
sign RSA with SHA-1, pipeline requests, open channels and send nothing on them).
"""

import json
import subprocess
import sys
from pathlib import Path

from tests.ssh import proxy_stack
from tests.ssh.conftest import ROOT, keygen

stack = proxy_stack.stack  # the fixture


def conch(stack, action: str, n: int = 1, *, user: str = "alice", key: Path | None = None, **flags) -> dict:
    """Run ``conch_client`` against the worker; what it saw (see its docstring)."""
    args = [sys.executable, "-m", "tests.ssh.conch_client", "--port", str(stack.port), "--user", user]
    args += ["--key", str(key or stack.user_key), action, str(n)]
    args += [f"--{name}" if value is True else f"--{name}={value}" for name, value in flags.items()]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# -- before login


def test_sha1_rsa_signatures_are_refused(stack, tmp_path):
    """Conch's client signs RSA as SHA-1 ``ssh-rsa``, which the proxy does not advertise."""
    rsa_private, _ = keygen(tmp_path, "rsa", "bob_rsa")
    stack.registry("add-user", "bob", "--key", f"{rsa_private}.pub")
    device = stack.device(grant=False)
    stack.registry("grant", "bob", device.uuid)
    for action in ("login", "login-signed", "login-mislabelled"):  # asking first, signing at once, lying
        assert conch(stack, action, user="bob", key=rsa_private)["logged_in"] is False, action
    stack.user_key = rsa_private  # OpenSSH's client signs with rsa-sha2-512: the same key logs in
    result = stack.ssh(f"bob+{device.uuid}", "echo rsa-sha2")
    assert (result.returncode, result.stdout) == (0, b"rsa-sha2\n"), result.stderr
