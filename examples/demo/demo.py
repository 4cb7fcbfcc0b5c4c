"""The demo stack: the device SSH proxy under ``supervisor run``, with one example device.

Everything runs on this machine, on its embedded defaults, with state in ``.demo/`` (override
with DEMO_DIR): a real OpenSSH sshd standing in for a device on 127.0.0.1:22222 (as on
balenaOS), the proxy's identity key that the device trusts, a user key, and a registry that
lets that user reach that device. Then ``graphs/device-proxy.toml`` runs in profile ``cli-ssh``
(web terminal off: the incident's configuration, which now works) and the exact ``ssh`` lines to
try are printed. Ctrl-C stops it all.

``--profile web`` runs the dashboard pods' profile instead: the web terminal too, its key
registered as a delegate and a token issued to the demo user; the URL and the token to paste
are printed (WEB_PORT, default 8080).

``--once`` brings the stack up, runs one command through the proxy (with ``--profile web``: signs
in to the web terminal and lists the user's devices), checks the answer, and stops: the same path
the interactive demo takes, for tests and CI.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

from stack import (
    GRAPH,
    PROFILE,
    ROOT,
    Stack,
    keypair,
    start_device,
    stop_process,
    wait_for_capability,
    wait_until,
)

DEVICE_UUID = "7d3f1c2a9b8e4f6a8c1d2e3f4a5b6c7d"
USER = "demo"


def web_devices(stack: Stack, token: str) -> list[str]:
    """Sign in to the web terminal with ``token`` as the page does; the devices it lists."""
    origin = stack.web_url.rstrip("/")
    headers = {"Origin": origin, "Content-Type": "application/json"}
    body = json.dumps({"token": token}).encode()
    with urllib.request.urlopen(
        urllib.request.Request(f"{origin}/api/signin", body, headers), timeout=10
    ) as answer:
        cookie = answer.headers["Set-Cookie"].split(";")[0]
    with urllib.request.urlopen(
        urllib.request.Request(f"{origin}/api/devices", headers={"Cookie": cookie}), timeout=10
    ) as answer:
        devices = json.load(answer)["devices"]
    print(f"signed in as {USER}: devices {devices}", flush=True)
    return devices


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run one command through the proxy, then stop")
    parser.add_argument("--profile", choices=(PROFILE, "web"), default=PROFILE, help=f"default {PROFILE}")
    args = parser.parse_args()
    home = Path(os.environ.get("DEMO_DIR", ROOT / ".demo")).resolve()
    stack = Stack(home, int(os.environ.get("PROXY_PORT", "2222")), int(os.environ.get("WEB_PORT", "8080")))
    device_port = int(os.environ.get("DEVICE_PORT", "22222"))
    login = os.environ.get("USER") or "root"

    identity = stack.identity()
    user_key = home / "user" / "id_ed25519"
    user_pub = keypair(user_key)
    device_dir = home / "device"
    device = start_device(device_dir, device_port, identity + "\n")
    supervisor = None
    try:
        wait_until(
            lambda: (device_dir / "host_key.pub").exists() and device.poll() is None, 30, "the device's sshd"
        )
        stack.fresh_registry()  # the demo's registry is made afresh from the files above
        stack.add_user(USER, user_pub)
        stack.add_device(DEVICE_UUID, device_port, login, device_dir / "host_key.pub", users=(USER,))
        stack.add_canary(device_port, login, device_dir / "host_key.pub")  # the one device is the canary too
        token = stack.enable_web_terminal(USER) if args.profile == "web" else None

        runtime = home / "run"
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "run", str(GRAPH), "--profile", args.profile]
            + ["--runtime-dir", str(runtime)],
            cwd=ROOT,
            env=stack.env(),
        )
        wait_for_capability(runtime / "control.sock", "device-ssh")
        options = shlex.join(stack.ssh_options(user_key))
        what = "no web terminal" if token is None else "with the web terminal"
        print(
            f"\nThe device proxy is up (profile {args.profile}: {what}, keys loaded by key-loader).\n"
            f"  ssh {options} {USER}+{DEVICE_UUID}@127.0.0.1\n"
            f"  ssh -t {options} {USER}@127.0.0.1 host {DEVICE_UUID}\n"
            f"  {Path(sys.executable).with_name('supervisor')} status --control {runtime / 'control.sock'}\n",
            flush=True,
        )
        if token is not None:
            wait_for_capability(runtime / "control.sock", "web-terminal")
            print(f"Web terminal: open {stack.web_url} and sign in with this token:\n  {token}\n", flush=True)
            if args.once:
                return 0 if web_devices(stack, token) == [DEVICE_UUID] else 1
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
            stop_process(process, 30)


if __name__ == "__main__":
    raise SystemExit(main())
