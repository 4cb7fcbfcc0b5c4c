"""A stand-in device for demos and tests: the real OpenSSH ``sshd`` on 127.0.0.1.

``python -m examples.demo.device_sshd --dir DIR --port PORT --authorized-keys FILE`` keeps everything
in DIR (its host key, generated on first start, and its config), then execs
``sshd -D -e`` so the process the caller started *is* the device. Its log (LogLevel VERBOSE)
goes to stderr: which key logged in, why one was refused.

A balenaOS device runs sshd on port 22222 and trusts the proxy's key; this one trusts the keys
in FILE (the proxy's public identity) and lets them log in as the user running it.
"""

import argparse
import os
from pathlib import Path

from examples.demo.stack import keypair
from services.shared import private_files
from services.shared.errors import ServiceError, run

SSHD = "/usr/sbin/sshd"  # sshd refuses to re-exec itself unless started by its absolute path
HOST_KEY = "host_key"


# What the proxy relays and so what the device serves: shells, commands, sftp and TCP forwarding.
# The rest is off, as a device behind the proxy should have it: the proxy refuses Unix-socket
# and agent forwarding itself, and a device must not rely on that alone.
_HARDENING = (
    "AllowStreamLocalForwarding no",
    "AllowAgentForwarding no",
    "X11Forwarding no",
    "PermitTunnel no",
    "GatewayPorts no",
    "PermitUserEnvironment no",
    "PermitUserRC no",
)


def config(directory: Path, port: int, authorized_keys: Path, max_startups: str = "10:30:100") -> Path:
    """Write the device's sshd_config: loopback only, public keys only, what the proxy needs only, LANG accepted."""
    path = directory / "sshd_config"
    path.write_text(
        f"ListenAddress 127.0.0.1:{port}\nMaxStartups {max_startups}\n"
        f"HostKey {directory / HOST_KEY}\n"
        f"AuthorizedKeysFile {authorized_keys.resolve()}\n"
        "StrictModes no\nUsePAM no\nPidFile none\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nAllowTcpForwarding yes\n"
        "Subsystem sftp internal-sftp\nLogLevel VERBOSE\nAcceptEnv LANG LC_*\n"
        + "".join(f"{line}\n" for line in _HARDENING)
    )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.demo.device_sshd", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--dir", required=True, type=Path, help="where the host key and config live")
    parser.add_argument("--port", required=True, type=int, help="port on 127.0.0.1")
    parser.add_argument("--authorized-keys", required=True, type=Path, help="public keys allowed to log in")
    parser.add_argument("--host-key-type", default="ed25519", choices=("ed25519", "ecdsa", "rsa"))
    parser.add_argument(
        "--max-startups",
        default="10:30:100",
        metavar="START:RATE:FULL",
        help="sshd's MaxStartups: logins in progress it takes before it drops some (default OpenSSH's)",
    )
    args = parser.parse_args()
    if not args.authorized_keys.is_file():
        raise ServiceError(f"{args.authorized_keys}: no such file (the public keys allowed to log in)")
    private_files.directory(args.dir)  # it holds the device's host key
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege-separation directory
    keypair(args.dir / HOST_KEY, args.host_key_type)  # made on first start, kept after
    path = config(args.dir, args.port, args.authorized_keys, args.max_startups)
    os.execv(SSHD, [SSHD, "-D", "-e", "-f", str(path)])


if __name__ == "__main__":
    raise SystemExit(run(main, "device_sshd"))
