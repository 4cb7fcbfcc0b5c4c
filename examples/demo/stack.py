"""The device proxy's stack under ``supervisor run``: the set-up the demo, the tests and the benches share.

All of them bring up the same thing: the proxy's identity keys in KEYS_DIR, a registry in STATE_DIR
naming users and devices (one of them the canary that proves device-ssh), and ``graphs/device-proxy.toml`` in profile ``cli-ssh`` with the proxy
on 127.0.0.1 (or in profile ``web``, with the web terminal's key registered as a delegate). Doing
it in one place means the tests prove the demo's way of running the stack, not a copy of it.
Processes are the caller's: the demo runs one interactive supervisor, the tests and benches run
theirs through ``tests/helpers``, which imports from here and never the other way round: the
demo runs as a script (``dev/demo``) without the test suite. So what the demo itself needs
(``ROOT``, ``wait_until``, ``stop_process``, keys, the stand-in device, status) lives here, and
the tests and benches take it from here too.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import attrs

from supervisor.runtime import client

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = ROOT / "graphs"
GRAPH = GRAPHS / "device-proxy.toml"
PROFILE = "cli-ssh"  # the incident's configuration: web terminal off
T = TypeVar("T")


def sh(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=60, **kwargs)


def keypair(path: Path, kind: str = "ed25519", fmt: str | None = None) -> Path:
    """An unencrypted key pair at ``path`` (kept if it exists); returns the public key's path.

    ``fmt`` "PEM" writes the private key in PEM (ecdsa, rsa) rather than OpenSSH's format.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        options = ["-m", fmt] if fmt else []
        sh("ssh-keygen", "-q", "-t", kind, "-N", "", "-C", path.name, "-f", str(path), *options)
    return Path(f"{path}.pub")


def wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition", poll: float = 0.02
) -> T:
    """Call ``predicate`` every ``poll`` seconds until it returns something true, and return that;
    TimeoutError naming ``what`` if that takes more than ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(poll)


def stop_process(process: subprocess.Popen | None, timeout: float = 5) -> None:
    """SIGTERM, then SIGKILL if it is still running after ``timeout`` seconds; None is let be."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def start_device(directory: Path, port: int, trusted: str, *options: str) -> subprocess.Popen:
    """The stand-in device (``examples.demo.device_sshd``) kept in ``directory``, on 127.0.0.1:``port``.

    It lets the key lines ``trusted`` log in; its log is ``directory/sshd.log``. ``options`` go
    to device_sshd (e.g. ``--max-startups``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "authorized_keys").write_text(trusted)
    return subprocess.Popen(
        [sys.executable, "-m", "examples.demo.device_sshd", "--dir", str(directory), "--port", str(port)]
        + ["--authorized-keys", str(directory / "authorized_keys"), *options],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(directory / "sshd.log").open("w"),
    )


def status(control: Path) -> dict | None:
    """The status ``supervisor status --json`` prints, asked on the control socket (no process
    started per poll), or None while the supervisor does not answer (yet)."""
    try:
        return client.request(str(control), {"command": "status"}, timeout=10)["status"]
    except client.ControlError:
        return None


def capability(control: Path, name: str) -> dict | None:
    """The capability's entry in the status (``state``, ``last_check``...), None if not answered."""
    found = status(control)
    if found is None:
        return None
    return next((c for c in found["capabilities"] if c["name"] == name), None)


def wait_for_capability(control: Path, name: str, state: str = "available", timeout: float = 60) -> None:
    def reached() -> bool:
        entry = capability(control, name)
        return entry is not None and entry["state"] == state

    wait_until(reached, timeout, f"capability {name} to become {state}", poll=0.1)


@attrs.frozen
class Stack:
    """The files one run of the stack uses under ``home``, and the port the proxy serves on."""

    home: Path
    proxy_port: int
    web_port: int = 8080
    registry_url: str | None = None  # a postgresql:// URL shared by several stacks; else STATE_DIR's file

    @property
    def keys(self) -> Path:
        """KEYS_DIR: the proxy's identity keys, which key-loader puts in the agent."""
        return self.home / "keys"

    @property
    def state(self) -> Path:
        """STATE_DIR: the registry and the proxy's host keys."""
        return self.home / "state"

    @property
    def db(self) -> Path:
        return self.state / "registry.sqlite3"

    @property
    def registry_location(self) -> str:
        """REGISTRY: what the services and the admin command are given, a URL or the file."""
        return self.registry_url or str(self.db)

    def identity(self, kind: str = "ed25519") -> str:
        """The proxy's identity of type ``kind`` (made if absent): its public key line."""
        return keypair(self.keys / f"proxy_{kind}", kind).read_text().strip()

    @property
    def web_key(self) -> Path:
        """WEB_KEY: the web terminal's own key, which the registry lists as a delegate."""
        return self.home / "web-terminal" / "id_ed25519"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}/"

    def registry(self, *args: str) -> subprocess.CompletedProcess:
        return sh(sys.executable, "-m", "services.registry", "--db", self.registry_location, *args, cwd=ROOT)

    @property
    def probe_key(self) -> Path:
        """PROBE_KEY: the key of user ``probe``, whom ssh-probe (device-ssh's check) logs in as."""
        return self.home / "probe" / "id_ed25519"

    def add_canary(self, port: int, login: str, host_key: Path) -> None:
        """Register the device on 127.0.0.1:``port`` as ``canary``, granted to user ``probe``: the
        device ssh-probe reaches. Without a canary, device-ssh is never proven."""
        self.add_user("probe", keypair(self.probe_key))
        self.add_device("canary", port, login, host_key, users=("probe",))

    def enable_web_terminal(self, user: str) -> str:
        """Make the web terminal's key, register it as a delegate, and issue ``user`` a token."""
        keypair(self.web_key)
        self.registry("add-delegate", "web-terminal", "--key", f"{self.web_key}.pub")
        return self.registry("add-token", user).stdout.strip()

    def fresh_registry(self) -> None:
        """A new, empty registry, so what it holds comes only from this run's calls (on PostgreSQL
        the caller gives a new database)."""
        if self.registry_url is None:
            self.db.unlink(missing_ok=True)
        self.registry("init")

    def add_user(self, name: str, public_key: Path) -> None:
        self.registry("add-user", name, "--key", str(public_key))

    def add_device(
        self, uuid: str, port: int, login: str, host_key: Path, users: tuple[str, ...] = ()
    ) -> None:
        """A device on 127.0.0.1 with its host key pinned, granted to ``users``."""
        self.registry(
            "add-device", uuid, "--address", "127.0.0.1", "--port", str(port), "--login", login,
            "--host-key", str(host_key),
        )  # fmt: skip
        for user in users:
            self.registry("grant", user, uuid)

    def env(self) -> dict[str, str]:
        """The supervisor's environment: the graph's variables, and this interpreter first on PATH.

        The graph runs ``python -m services.…``; with this interpreter's directory first on PATH,
        that is the same Python (and packages) as an activated venv would give.
        """
        return {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "KEYS_DIR": str(self.keys),
            "STATE_DIR": str(self.state),
            "REGISTRY": self.registry_location,
            "PROXY_HOST": "127.0.0.1",
            "PROXY_PORT": str(self.proxy_port),
            "WEB_HOST": "127.0.0.1",
            "WEB_PORT": str(self.web_port),
            "WEB_KEY": str(self.web_key),
            "PROBE_KEY": str(self.probe_key),
        }

    def ssh_options(self, user_key: Path) -> list[str]:
        """What ``ssh`` needs to reach the proxy as the owner of ``user_key`` (``-p`` last)."""
        return [
            "-i",
            str(user_key),
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=no",
            "-p",
            str(self.proxy_port),
        ]
