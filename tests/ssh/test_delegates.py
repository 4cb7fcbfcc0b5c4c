"""A delegate's key (the web terminal's) logs in for a user, for one named device, under every check."""

import json
import subprocess

from tests.helpers.services import keygen
from tests.ssh import proxy_stack
from tests.ssh.proxy_stack import CLIENT_OPTIONS, assert_refused, no_access

stack = proxy_stack.stack  # the fixture


def as_delegate(stack, key, login: str, *command: str) -> subprocess.CompletedProcess:
    args = ["ssh", *CLIENT_OPTIONS, "-o", "IdentitiesOnly=yes", "-i", str(key), "-p", str(stack.port)]
    return subprocess.run([*args, f"{login}@127.0.0.1", *command], capture_output=True, timeout=30)


def test_delegate_acts_for_a_user_within_their_grants(stack, tmp_path):
    granted = stack.device()
    other = stack.device("not-granted", grant=False)
    key, _ = keygen(tmp_path, "ed25519", "web_terminal")
    stranger, _ = keygen(tmp_path, "ed25519", "stranger")
    stack.registry("add-delegate", "web-terminal", "--key", f"{key}.pub")

    result = as_delegate(stack, key, f"alice+{granted.uuid}", "echo for-alice")
    assert (result.returncode, result.stdout) == (0, b"for-alice\n"), result.stderr
    assert_refused(
        as_delegate(stack, key, f"alice+{other.uuid}", "true"),
        no_access(other.uuid),
    )
    # No device named, an unknown user, or a key that is nobody's: no login at all.
    for login, used in (
        ("alice", key),
        (f"mallory+{granted.uuid}", key),
        (f"alice+{granted.uuid}", stranger),
    ):
        refused = as_delegate(stack, used, login, "host", granted.uuid, "true")
        assert refused.returncode == 255 and b"Permission denied (publickey)" in refused.stderr, login

    stack.registry("remove-delegate", "web-terminal")
    refused = as_delegate(stack, key, f"alice+{granted.uuid}", "true")
    assert b"Permission denied (publickey)" in refused.stderr
    assert stack.ssh(f"alice+{granted.uuid}", "true").returncode == 0  # alice herself

    audit = [json.loads(line) for line in stack.stop().splitlines() if line.startswith("{")]
    assert [(a["device"], a["via"], a["result"]) for a in audit] == [
        (granted.uuid, "web-terminal", "ok"),
        (other.uuid, "web-terminal", "not-authorised"),
        (granted.uuid, None, "ok"),
    ]
