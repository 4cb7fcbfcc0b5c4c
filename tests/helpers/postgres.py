"""A throwaway PostgreSQL server for the registry's tests: Debian's own, started with initdb/pg_ctl.

One cluster per test session, under pytest's temporary directory, listening on a Unix socket in
that directory only (no TCP port: nothing else on the machine can reach it, and no port can be
taken by another run); each test gets a database of its own. Password authentication
(SCRAM) as a deployment would have it, so the URLs the services get hold a password, and the
tests can check that it never reaches a message.

PostgreSQL refuses to run as root. Run as root, the server runs as the ``postgres`` user that
Debian's package creates (``runuser``), and that user is given the right to pass through (only
``x``, by an ACL: ``setfacl``) the 0700 directories above the cluster's.
"""

import itertools
import os
import secrets
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

SERVER_USER = "postgres"  # who runs the server when the tests run as root
ROLE = "registry"  # the cluster's superuser, which the services log in as


def server_bin() -> Path:
    """Debian's PostgreSQL server programs (initdb, pg_ctl), the newest installed version."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError(
            "no PostgreSQL server in /usr/lib/postgresql (dev/setup installs Debian's postgresql)"
        )
    return found[-1].parent


class Cluster:
    """A PostgreSQL cluster in ``directory``: ``start``, ``database`` for a new one, ``stop``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.password = secrets.token_urlsafe(16)
        self.as_root = os.geteuid() == 0
        self.pid: int | None = None  # the server's, once started
        self._names = itertools.count(1)

    def _run(self, *command: str | Path) -> None:
        prefix = []
        if self.as_root:
            self._let_server_user_in()
            prefix = ["runuser", "-u", SERVER_USER, "--"]
        done = subprocess.run([*prefix, *map(str, command)], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr or done.stdout}")

    def _let_server_user_in(self) -> None:
        """As root: the server's user may pass through the directories above the cluster's.

        Granted again before each command: another pytest session starting meanwhile chmods
        its base directory (ours too) to 0700, which clears the ACL's mask.
        """
        for parent in self.directory.parents:
            if not parent.stat().st_mode & stat.S_IXOTH:
                grant = f"u:{SERVER_USER}:x,m::x"
                subprocess.run(["setfacl", "-m", grant, str(parent)], check=True, timeout=30)

    def start(self) -> None:
        self.directory.chmod(0o700)
        password_file = self.directory / "password"
        password_file.write_text(self.password + "\n")
        if self.as_root:
            shutil.chown(self.directory, SERVER_USER, SERVER_USER)
            shutil.chown(password_file, SERVER_USER)
        binaries = server_bin()
        self._run(
            binaries / "initdb", "-D", self.data, "-U", ROLE, f"--pwfile={password_file}",
            "--auth=scram-sha-256", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        password_file.unlink()
        settings = f"-c listen_addresses='' -c unix_socket_directories='{self.directory}' -c fsync=off"
        log = self.directory / "server.log"
        self._run(binaries / "pg_ctl", "-D", self.data, "-o", settings, "-l", log, "-w", "start")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown (SIGINT to the server, as ``pg_ctl -m fast`` sends), waiting for it to end.

        By the pid it had at start, not from its files: on a shared machine another pytest
        session may have removed this one's directory meanwhile (the server then stops by itself
        within a minute, finding its lock file gone).
        """
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while Path(f"/proc/{self.pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def url(self, database: str) -> str:
        return f"postgresql://{ROLE}:{self.password}@/{database}?host={self.directory}"

    def database(self) -> str:
        """A new, empty database; its URL."""
        name = f"registry{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("postgres"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster) -> str:
    """The URL of a new, empty database on the session's PostgreSQL server."""
    return postgres_cluster.database()
