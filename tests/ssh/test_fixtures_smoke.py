"""The fixtures themselves work: a key pair logs in to an sshd device through the agent."""

import subprocess

from tests.helpers.services import keygen


def test_ssh_through_agent_to_sshd_device(tmp_path, agent, sshd_device):
    private, public = keygen(tmp_path, "ed25519")
    device = sshd_device([public])
    env = {"SSH_AUTH_SOCK": agent, "PATH": "/usr/bin:/bin"}
    subprocess.run(["ssh-add", str(private)], env=env, check=True, capture_output=True, timeout=10)
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{device.port} {device.host_key}\n")
    result = subprocess.run(
        [
            "ssh",
            "-p",
            str(device.port),
            "-o",
            f"UserKnownHostsFile={known}",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=no",
            "-F",
            "/dev/null",
            f"{device.login}@127.0.0.1",
            "echo",
            "hello",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello\n"
