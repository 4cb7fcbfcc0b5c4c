"""The demo stack: the device SSH proxy under ``supervisor run``, with one example device.

Everything runs on this machine, on its embedded defaults, with state in ``.demo/`` (override
with DEMO_DIR): a real OpenSSH sshd standing in for a device on 127.0.0.1:22222 (as on
balenaOS), the proxy's identity key that the device trusts, a user key, and a registry that
lets that user reach that device. Then ``graphs/device-proxy.toml`` runs in profile ``cli-ssh``
(web terminal off: the incident's configuration, which now works) and the exact ``ssh`` lines to
try are printed. Ctrl-C stops it all.

``--once`` brings the stack up, runs one command through the proxy, checks its answer, and
stops: the same path the interactive demo takes, for tests and CI.
"""

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GRAPH = ROOT / "graphs" / "device-proxy.toml"
DEVICE_UUID = "7d3f1c2a9b8e4f6a8c1d2e3f4a5b6c7d"
USER = "demo"


def sh(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=60, **kwargs)


def keypair(path: Path, kind: str = "ed25519") -> Path:
    """An unencrypted key pair at ``path`` (kept across runs); returns the public key's path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        sh("ssh-keygen", "-q", "-t", kind, "-N", "", "-C", path.name, "-f", str(path))
    return Path(f"{path}.pub")


def registry(db: Path, *args: str) -> None:
    sh(sys.executable, "-m", "services.registry", "--db", str(db), *args, cwd=ROOT)


def wait_for(what: str, ready, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: {what} did not come up within {timeout:g}s")
        time.sleep(0.1)


def capability_available(control: Path, name: str) -> bool:
    status = subprocess.run(
        [sys.executable, "-m", "supervisor", "status", "--json", "--control", str(control)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    if status.returncode != 0:
        return False
    return any(
        c["name"] == name and c["state"] == "available" for c in json.loads(status.stdout)["capabilities"]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run one command through the proxy, then stop")
    args = parser.parse_args()
    home = Path(os.environ.get("DEMO_DIR", ROOT / ".demo")).resolve()
    proxy_port = os.environ.get("PROXY_PORT", "2222")
    device_port = os.environ.get("DEVICE_PORT", "22222")
    login = os.environ.get("USER") or "root"

    identity_pub = keypair(home / "keys" / "proxy_ed25519")
    user_key = home / "user" / "id_ed25519"
    user_pub = keypair(user_key)
    device_dir = home / "device"
    device_dir.mkdir(parents=True, exist_ok=True)
    (device_dir / "authorized_keys").write_text(identity_pub.read_text())

    device = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.device_sshd",
            "--dir",
            str(device_dir),
            "--port",
            device_port,
            "--authorized-keys",
            str(device_dir / "authorized_keys"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(device_dir / "sshd.log").open("w"),
    )
    supervisor = None
    try:
        wait_for(
            "the device's sshd", lambda: (device_dir / "host_key.pub").exists() and device.poll() is None, 30
        )
        state = home / "state"
        db = state / "registry.sqlite3"
        db.unlink(missing_ok=True)  # the demo's registry is made afresh from the files above
        registry(db, "init")
        registry(db, "add-user", USER, "--key", str(user_pub))
        registry(
            db,
            "add-device",
            DEVICE_UUID,
            "--address",
            "127.0.0.1",
            "--port",
            device_port,
            "--login",
            login,
            "--host-key",
            str(device_dir / "host_key.pub"),
        )
        registry(db, "grant", USER, DEVICE_UUID)

        runtime = home / "run"
        # The graph runs `python -m services.…`: this interpreter's, as an activated venv would.
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "KEYS_DIR": str(home / "keys"),
            "STATE_DIR": str(state),
            "PROXY_HOST": "127.0.0.1",
            "PROXY_PORT": proxy_port,
        }
        supervisor = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "supervisor",
                "run",
                str(GRAPH),
                "--profile",
                "cli-ssh",
                "--runtime-dir",
                str(runtime),
            ],
            cwd=ROOT,
            env=env,
        )
        wait_for("device-ssh", lambda: capability_available(runtime / "control.sock", "device-ssh"))
        options = f"-i {shlex.quote(str(user_key))} -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p {proxy_port}"
        print(
            "\nThe device proxy is up (profile cli-ssh: no web terminal, keys loaded by key-loader).\n"
            f"  ssh {options} {USER}+{DEVICE_UUID}@127.0.0.1\n"
            f"  ssh -t {options} {USER}@127.0.0.1 host {DEVICE_UUID}\n"
            f"  supervisor status --control {runtime / 'control.sock'}\n",
            flush=True,
        )
        if args.once:
            answer = subprocess.run(
                [
                    "ssh",
                    *shlex.split(options),
                    "-o",
                    "BatchMode=yes",
                    f"{USER}+{DEVICE_UUID}@127.0.0.1",
                    "echo",
                    "demo-ok",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            print(answer.stdout + answer.stderr, end="")
            return 0 if answer.returncode == 0 and answer.stdout.strip() == "demo-ok" else 1
        return supervisor.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in (supervisor, device):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    raise SystemExit(main())
