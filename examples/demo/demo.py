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
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from stack import GRAPH, PROFILE, ROOT, Stack, keypair, wait_for, wait_for_capability

DEVICE_UUID = "7d3f1c2a9b8e4f6a8c1d2e3f4a5b6c7d"
USER = "demo"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run one command through the proxy, then stop")
    args = parser.parse_args()
    home = Path(os.environ.get("DEMO_DIR", ROOT / ".demo")).resolve()
    stack = Stack(home, int(os.environ.get("PROXY_PORT", "2222")))
    device_port = int(os.environ.get("DEVICE_PORT", "22222"))
    login = os.environ.get("USER") or "root"

    identity = stack.identity()
    user_key = home / "user" / "id_ed25519"
    user_pub = keypair(user_key)
    device_dir = home / "device"
    device_dir.mkdir(parents=True, exist_ok=True)
    (device_dir / "authorized_keys").write_text(identity + "\n")

    device = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.device_sshd",
            "--dir",
            str(device_dir),
            "--port",
            str(device_port),
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
            "the device's sshd did not come up",
            lambda: (device_dir / "host_key.pub").exists() and device.poll() is None,
            30,
        )
        stack.fresh_registry()  # the demo's registry is made afresh from the files above
        stack.add_user(USER, user_pub)
        stack.add_device(DEVICE_UUID, device_port, login, device_dir / "host_key.pub", users=(USER,))

        runtime = home / "run"
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "run", str(GRAPH), "--profile", PROFILE]
            + ["--runtime-dir", str(runtime)],
            cwd=ROOT,
            env=stack.env(),
        )
        wait_for_capability(runtime / "control.sock", "device-ssh")
        options = shlex.join(stack.ssh_options(user_key))
        print(
            f"\nThe device proxy is up (profile {PROFILE}: no web terminal, keys loaded by key-loader).\n"
            f"  ssh {options} {USER}+{DEVICE_UUID}@127.0.0.1\n"
            f"  ssh -t {options} {USER}@127.0.0.1 host {DEVICE_UUID}\n"
            f"  {Path(sys.executable).with_name('supervisor')} status --control {runtime / 'control.sock'}\n",
            flush=True,
        )
        if args.once:
            answer = subprocess.run(
                ["ssh", *stack.ssh_options(user_key), "-o", "BatchMode=yes"]
                + [f"{USER}+{DEVICE_UUID}@127.0.0.1", "echo", "demo-ok"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            print(answer.stdout + answer.stderr, end="")
            return 0 if answer.returncode == 0 and answer.stdout.strip() == "demo-ok" else 1
        return supervisor.wait()
    except TimeoutError as late:
        raise SystemExit(f"demo: {late}") from None
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
