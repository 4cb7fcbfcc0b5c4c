"""The key loader against a real ssh-agent: every format and type, the check, and bad key files.

Every test also proves that no key material reaches stdout or stderr.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.services import keygen, run_service

# (kind, format): the OpenSSH format for every type, and PEM where ssh-keygen writes it.
KEYS = [("ed25519", None), ("ecdsa", None), ("rsa", None), ("ecdsa", "PEM"), ("rsa", "PEM")]


def ssh_add(agent: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SSH_AUTH_SOCK": agent}
    return subprocess.run(["ssh-add", *args], env=env, capture_output=True, text=True, timeout=10)


def fingerprint(path: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def secrets(*paths: Path) -> list[str]:
    """Every base64 line of the private keys: none may appear in any output."""
    return [
        line for p in paths for line in p.read_text().splitlines() if line and not line.startswith("-----")
    ]


def assert_no_secrets(result: subprocess.CompletedProcess, *paths: Path) -> None:
    output = result.stdout + result.stderr
    assert "PRIVATE KEY" not in output
    leaked = [line for line in secrets(*paths) if line[:16] in output]
    assert not leaked, "key material in the output"


def loader(agent: str, keys: Path, *args: str) -> subprocess.CompletedProcess:
    return run_service("key_loader", "--agent", agent, "--keys", str(keys), *args)


@pytest.fixture
def keys_dir(tmp_path):
    """A keys directory with five keys, their .pub files and a README (to be skipped)."""
    directory = tmp_path / "keys"
    directory.mkdir()
    for kind, fmt in KEYS:
        keygen(directory, kind, f"{kind}_{(fmt or 'openssh').lower()}", fmt)
    (directory / "README").write_text("the proxy's identity keys\n")
    return directory


def private_keys(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix != ".pub" and p.name != "README")


def test_loads_every_key_then_check_notices_removal(agent, keys_dir):
    paths = private_keys(keys_dir)
    assert "BEGIN EC PRIVATE KEY" in (keys_dir / "ecdsa_pem").read_text()  # really PEM
    assert "BEGIN RSA PRIVATE KEY" in (keys_dir / "rsa_pem").read_text()
    result = loader(agent, keys_dir)
    assert result.returncode == 0, result.stderr
    expected = {p.name: fingerprint(p) for p in paths}
    lines = result.stdout.splitlines()
    assert len(lines) == len(paths)
    for line in lines:
        verb, name, kind, print_ = line.split()
        assert verb == "loaded" and expected[name] == print_ and kind in ("ED25519", "ECDSA", "RSA")
    listed = ssh_add(agent, "-l").stdout
    assert all(fp in listed for fp in expected.values())
    assert_no_secrets(result, *paths)

    check = loader(agent, keys_dir, "--check")
    assert (check.returncode, check.stdout, check.stderr) == (0, "", "")

    assert ssh_add(agent, "-D").returncode == 0
    check = loader(agent, keys_dir, "--check")
    assert check.returncode != 0
    assert f"no longer holds {len(paths)} of {len(paths)} keys" in check.stderr
    assert all(f"{name} " in check.stderr and fp in check.stderr for name, fp in expected.items())
    assert len(check.stderr.splitlines()) == 1
    assert_no_secrets(check, *paths)


def test_check_names_only_the_missing_key(agent, keys_dir):
    assert loader(agent, keys_dir).returncode == 0
    assert ssh_add(agent, "-d", str(keys_dir / "rsa_pem.pub")).returncode == 0
    check = loader(agent, keys_dir, "--check")
    assert check.returncode != 0 and "1 of 5 keys: rsa_pem RSA SHA256:" in check.stderr


def test_encrypted_key_is_refused_and_nothing_loaded(agent, tmp_path):
    directory = tmp_path / "keys"
    directory.mkdir()
    good, _ = keygen(directory, "ed25519")
    locked = directory / "locked"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-N", "correct horse", "-f", str(locked)], check=True, timeout=30
    )
    result = loader(agent, directory)
    assert result.returncode != 0
    assert f"{locked}: key is encrypted with a passphrase" in result.stderr
    assert result.stdout == ""
    assert_no_secrets(result, good, locked)
    assert "correct horse" not in result.stderr
    assert "no identities" in ssh_add(agent, "-l").stdout  # all or nothing


def test_malformed_key_is_named_without_quoting_it(agent, tmp_path):
    directory = tmp_path / "keys"
    directory.mkdir()
    real, _ = keygen(tmp_path, "ed25519")
    lines = real.read_text().splitlines()
    broken = directory / "broken"
    broken.write_text("\n".join([lines[0], lines[1][:-8], lines[-1]]) + "\n")  # truncated body
    result = loader(agent, directory)
    assert result.returncode != 0
    assert result.stderr == f"key-loader: {broken}: malformed or unsupported private key\n"
    assert_no_secrets(result, real)


def test_unreadable_key_file_is_named(agent, tmp_path):
    directory = tmp_path / "keys"
    directory.mkdir()
    keygen(directory, "ed25519")
    (directory / "gone").symlink_to(
        tmp_path / "nowhere"
    )  # root reads anything: a dangling link cannot be read
    result = loader(agent, directory)
    assert result.returncode != 0
    assert f"{directory / 'gone'}: cannot read: No such file or directory" in result.stderr


def test_empty_keys_dir_is_an_error(agent, tmp_path):
    directory = tmp_path / "keys"
    directory.mkdir()
    result = loader(agent, directory)
    assert result.returncode != 0 and result.stderr == f"key-loader: no keys in {directory}\n"
    (directory / "README").write_text("nothing here\n")
    (directory / "other.pub").write_text("ssh-ed25519 AAAA other\n")
    assert loader(agent, directory).stderr == f"key-loader: no keys in {directory}\n"


def test_missing_keys_dir(agent, tmp_path):
    result = loader(agent, tmp_path / "absent")
    assert result.returncode != 0 and "No such file or directory" in result.stderr


def test_agent_absent_or_silent(tmp_path, keys_dir):
    result = loader(str(tmp_path / "absent.sock"), keys_dir)
    assert result.returncode != 0 and result.stderr.endswith("absent.sock: no such socket\n")
    with socket.socket(socket.AF_UNIX) as silent:  # accepts, never answers: a stalled agent
        silent.bind(str(tmp_path / "silent.sock"))
        silent.listen(1)
        result = loader(str(tmp_path / "silent.sock"), keys_dir, "--timeout", "0.5")
    assert (
        result.returncode != 0 and "no answer to adding" in result.stderr and "within 0.5s" in result.stderr
    )


GRAPH = """
version = 1
[services.ssh-agent]
command = ["ssh-agent", "-D", "-a", "${{RUNTIME_DIR}}/agent.sock"]
provides = ["ssh-agent"]
ready = {{ exec = ["python", "-m", "services.probes", "agent", "${{RUNTIME_DIR}}/agent.sock"], timeout = "5s" }}
[services.key-loader]
kind = "oneshot"
command = ["python", "-m", "services.key_loader", "--agent", "${{RUNTIME_DIR}}/agent.sock", "--keys", "{keys}"]
requires = ["ssh-agent"]
provides = ["ssh-identity-keys"]
check = {{ exec = ["python", "-m", "services.key_loader", "--check", "--agent", "${{RUNTIME_DIR}}/agent.sock", "--keys", "{keys}"], interval = "200ms", timeout = "5s" }}
[services.proxy]
command = ["sleep", "60"]
requires = ["ssh-identity-keys"]
"""


def test_supervisor_reloads_keys_removed_from_the_agent(supervisor, keys_dir, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")  # "python": this venv's
    sup = supervisor(GRAPH.format(keys=keys_dir))
    sup.wait_event("proxy", "ready", timeout=20)
    agent = str(sup.runtime_dir / "agent.sock")
    assert len(ssh_add(agent, "-l").stdout.splitlines()) == 5
    assert len([line for line in sup.output("key-loader") if line.startswith("loaded ")]) == 5

    assert ssh_add(agent, "-D").returncode == 0
    lost = sup.wait_event("key-loader", "lost", timeout=10)
    assert (
        "capability ssh-identity-keys lost" in lost["message"]
        and "no longer holds 5 of 5 keys" in lost["message"]
    )
    sup.wait_event("proxy", "degraded")
    sup.wait_event("key-loader", "done", count=2, timeout=15)
    sup.wait_event("proxy", "recovered", timeout=10)
    listed = ssh_add(agent, "-l").stdout
    assert all(fingerprint(p) in listed for p in private_keys(keys_dir))
    assert sup.stop() == 0
