"""What the services keep on disk is theirs alone: directories they create 0700, files 0600."""

import contextlib
import sqlite3
import subprocess
import sys

from examples.demo.stack import ROOT, stop_process
from tests.helpers.net import free_port
from tests.ssh.proxy_stack import start_worker, wait_for_worker

# The usual umask: the modes the services would get if they left them to it.
UMASK = 0o022


def mode(path) -> str:
    return oct(path.stat().st_mode & 0o777)


def registry_init(db) -> None:
    command = [sys.executable, "-m", "services.registry", "--db", str(db), "init"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30, umask=UMASK)
    assert result.returncode == 0, result.stderr


def test_registry_is_created_private_in_a_private_directory(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    db = shared / "state" / "deep" / "registry.sqlite3"
    registry_init(db)
    assert (mode(db), mode(db.parent), mode(db.parent.parent)) == ("0o600", "0o700", "0o700")
    assert mode(shared) == "0o755"  # a directory that existed is not the service's to change
    # SQLite gives its WAL files the database's mode: they exist while a connection is open.
    with contextlib.closing(sqlite3.connect(db)) as reader:
        reader.execute("SELECT count(*) FROM users").fetchone()
        journal = [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm")]
        assert [mode(path) for path in journal] == ["0o600", "0o600"]


def test_init_makes_an_existing_registry_private(tmp_path):
    db = tmp_path / "registry.sqlite3"
    db.touch(mode=0o644)  # left by an earlier version
    registry_init(db)
    assert mode(db) == "0o600"


def test_host_keys_are_private(tmp_path, agent):
    db = tmp_path / "registry.sqlite3"
    registry_init(db)
    host_keys = tmp_path / "state" / "host-keys"
    port = free_port()
    worker = start_worker(agent, db, host_keys, port, umask=UMASK)
    try:
        wait_for_worker(worker, port)
    finally:
        stop_process(worker)
    assert (mode(host_keys), mode(host_keys.parent)) == ("0o700", "0o700")
    assert {mode(key) for key in host_keys.glob("ssh_host_*_key")} == {"0o600"}
