"""Who may reach which device: the registry's data, its interface, and the SQLite store.

Proxy workers only read (``Store``), through a Protocol so that a networked database can replace
the embedded one. ``SQLiteStore`` keeps one connection and makes every call its own
transaction: the admin command changes the file under running workers, and in WAL mode a new
transaction sees the last committed change, with no cache to invalidate, while workers read as
the admin writes. One connection per worker, not one per call, so that a flood of logins costs
no file descriptors; if the file is replaced (another inode), the connection is opened again.
The file is private (0600, in a 0700 directory when ``init`` creates it): it says who may reach
which device.
"""

import contextlib
import os
import re
import sqlite3
import typing
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import attrs

from services.shared import private_files, sshkeys
from services.shared.errors import ServiceError

# One script per schema version; ``init`` runs those past the file's ``user_version``.
MIGRATIONS = (
    """
    CREATE TABLE users (name TEXT PRIMARY KEY);
    CREATE TABLE user_keys (
        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        key_line TEXT NOT NULL,
        PRIMARY KEY (user, position)
    );
    CREATE TABLE devices (
        uuid TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        port INTEGER NOT NULL,
        login TEXT NOT NULL,
        host_key TEXT
    );
    CREATE TABLE grants (
        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        device TEXT NOT NULL REFERENCES devices(uuid) ON DELETE CASCADE,
        PRIMARY KEY (user, device)
    );
    """,
    # 2: the web terminal's sign-in tokens (hashed) and the keys allowed to act for users.
    """
    CREATE TABLE tokens (
        user TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
        digest TEXT NOT NULL
    );
    CREATE TABLE delegates (name TEXT PRIMARY KEY, key_line TEXT NOT NULL);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
DEVICE_COLUMNS = "uuid, address, port, login, host_key"  # the order of Device's fields

# No '+' or '@': the proxy routes on ``USER+UUID@PROXY``.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_RULE = "use letters, digits, '.', '_' or '-' (at most 64)"  # what NAME accepts, for people


class RegistryError(ServiceError):
    """A registry lookup or change that cannot be done; the message names what and why."""


@attrs.frozen
class User:
    name: str
    public_keys: tuple[str, ...]  # OpenSSH public key lines ("ssh-ed25519 AAAA... comment")


@attrs.frozen
class Device:
    uuid: str
    address: str  # host or IP
    port: int
    login: str  # user name on the device's sshd
    host_key: str | None  # pinned OpenSSH public host key line; None = trust on first use


@attrs.frozen
class Delegate:
    """A key allowed to log in to the proxy as any user (``USER+UUID``), e.g. the web terminal's."""

    name: str  # recorded as "via" in the proxy's audit lines
    key_line: str


@attrs.frozen
class Listing:
    users: tuple[User, ...]
    devices: tuple[Device, ...]
    grants: tuple[tuple[str, str], ...]  # (user, device uuid)
    delegates: tuple[Delegate, ...] = ()


class Store(typing.Protocol):
    """What a proxy worker needs: every call reflects the latest committed admin change."""

    def user(self, name: str) -> User | None: ...
    def device(self, uuid: str) -> Device | None: ...
    def may_access(self, user: str, uuid: str) -> bool: ...
    def pin_host_key(self, uuid: str, key_line: str) -> None: ...  # first use under TOFU
    def delegates(self) -> tuple["Delegate", ...]: ...


def valid_name(what: str, name: str) -> str:
    if not NAME.fullmatch(name):
        raise RegistryError(f"{what} {name!r}: {NAME_RULE}")
    return name


def same_key(line_a: str, line_b: str) -> bool:
    """Two key lines name the same key when type and blob match (comments may differ)."""
    return line_a.split()[:2] == line_b.split()[:2]


class SQLiteStore:
    """The registry in an embedded SQLite file; implements ``Store`` and the admin changes.

    Used by one thread at a time (a worker's registry thread, or the admin command).
    """

    def __init__(self, path: str) -> None:
        self.path = str(path)
        self._db: sqlite3.Connection | None = None
        self._inode: tuple[int, int] | None = None  # (device, inode) of the file ``_db`` has open

    def _error(self, message: str) -> RegistryError:
        return RegistryError(f"registry {self.path}: {message}")

    def _connection(self) -> sqlite3.Connection:
        """The open connection, opened (again) if there is none or the file was replaced."""
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            self.close()
            raise self._error("no such file (run init)") from None
        except OSError as error:
            raise self._error(error.strerror) from None
        if self._db is None or self._inode != (status.st_dev, status.st_ino):
            self.close()
            uri = f"file:{urllib.parse.quote(self.path)}?mode=rw"
            try:
                self._db = sqlite3.connect(
                    uri, uri=True, timeout=5.0, isolation_level=None, check_same_thread=False
                )
                self._db.execute("PRAGMA foreign_keys = ON")
            except sqlite3.Error as error:
                self.close()
                raise self._error(str(error)) from None
            self._inode = (status.st_dev, status.st_ino)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = self._inode = None

    @contextlib.contextmanager
    def _transaction(self, begin: str, check_schema: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction: everything in it is committed, or nothing is."""
        db = self._connection()
        try:
            db.execute(begin)
            try:
                if check_schema:
                    version = db.execute("PRAGMA user_version").fetchone()[0]
                    if version != SCHEMA_VERSION:
                        raise self._error(f"schema version {version}, expected {SCHEMA_VERSION} (run init)")
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as error:
            self.close()  # whatever state it is in, the next call starts from a fresh connection
            raise self._error(str(error)) from None

    def _read(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return self._transaction("BEGIN")

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return self._transaction("BEGIN IMMEDIATE")

    # -- Store: what the proxy workers read

    def user(self, name: str) -> User | None:
        with self._read() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is None:
                return None
            rows = db.execute("SELECT key_line FROM user_keys WHERE user = ? ORDER BY position", (name,))
            return User(name, tuple(line for (line,) in rows))

    def device(self, uuid: str) -> Device | None:
        with self._read() as db:
            row = db.execute(f"SELECT {DEVICE_COLUMNS} FROM devices WHERE uuid = ?", (uuid,)).fetchone()
        return Device(*row) if row else None

    def may_access(self, user: str, uuid: str) -> bool:
        with self._read() as db:
            query = "SELECT 1 FROM grants WHERE user = ? AND device = ?"
            return db.execute(query, (user, uuid)).fetchone() is not None

    def pin_host_key(self, uuid: str, key_line: str) -> None:
        """Pin the key seen on first use; an existing, different pin is never replaced."""
        try:
            sshkeys.parse_public_line(key_line, f"host key for device {uuid}")
        except ServiceError as failure:  # one exception type for the proxy to catch
            raise RegistryError(failure.message) from None
        line = " ".join(key_line.split())
        with self._write() as db:
            row = db.execute("SELECT host_key FROM devices WHERE uuid = ?", (uuid,)).fetchone()
            if row is None:
                raise RegistryError(f"no device {uuid}")
            if row[0] is None:
                db.execute("UPDATE devices SET host_key = ? WHERE uuid = ?", (line, uuid))
            elif not same_key(row[0], line):
                raise RegistryError(f"device {uuid} already has a different pinned host key")

    def delegates(self) -> tuple[Delegate, ...]:
        with self._read() as db:
            rows = db.execute("SELECT name, key_line FROM delegates ORDER BY name").fetchall()
        return tuple(Delegate(*row) for row in rows)

    # -- what the web terminal reads

    def token_digest(self, user: str) -> str | None:
        """The digest of the user's sign-in token (``services.shared.access_tokens``), None if none."""
        with self._read() as db:
            row = db.execute("SELECT digest FROM tokens WHERE user = ?", (user,)).fetchone()
        return row[0] if row else None

    def granted_devices(self, user: str) -> tuple[str, ...]:
        with self._read() as db:
            rows = db.execute("SELECT device FROM grants WHERE user = ? ORDER BY device", (user,))
            return tuple(uuid for (uuid,) in rows)

    # -- administration

    def init(self) -> tuple[int, int]:
        """Create or migrate the schema (idempotent); return (version before, version now)."""
        path = Path(self.path)
        try:
            private_files.directory(path.parent)
        except OSError as error:
            raise self._error(f"cannot create its directory: {error.strerror}") from None
        try:
            private_files.file(path)  # SQLite takes an empty file for an empty database
        except OSError as error:
            raise self._error(f"cannot create it: {error.strerror}") from None
        try:
            self._connection().execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error as error:
            raise self._error(str(error)) from None
        with self._transaction("BEGIN IMMEDIATE", check_schema=False) as db:
            before = db.execute("PRAGMA user_version").fetchone()[0]
            if before > SCHEMA_VERSION:
                raise self._error(f"schema version {before} is newer than this code ({SCHEMA_VERSION})")
            for script in MIGRATIONS[before:]:
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return before, SCHEMA_VERSION

    def check(self) -> None:
        """Return if the file opens with the current schema and its tables answer."""
        with self._read() as db:
            for table in ("users", "user_keys", "devices", "grants", "tokens", "delegates"):
                db.execute(f"SELECT count(*) FROM {table}").fetchone()

    def add_user(self, name: str, public_keys: tuple[str, ...]) -> None:
        valid_name("user", name)
        with self._write() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise RegistryError(f"user {name} already exists")
            db.execute("INSERT INTO users (name) VALUES (?)", (name,))
            db.executemany(
                "INSERT INTO user_keys (user, position, key_line) VALUES (?, ?, ?)",
                [(name, i, " ".join(line.split())) for i, line in enumerate(public_keys)],
            )

    def remove_user(self, name: str) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise RegistryError(f"no user {name}")

    def add_device(self, device: Device) -> None:
        valid_name("device", device.uuid)
        if not 1 <= device.port <= 65535:
            raise RegistryError(f"device {device.uuid}: port {device.port} is not between 1 and 65535")
        if not all(value and value.split() == [value] for value in (device.address, device.login)):
            raise RegistryError(f"device {device.uuid}: address and login must be single words")
        with self._write() as db:
            if db.execute("SELECT 1 FROM devices WHERE uuid = ?", (device.uuid,)).fetchone():
                raise RegistryError(f"device {device.uuid} already exists")
            db.execute(
                f"INSERT INTO devices ({DEVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                attrs.astuple(device),
            )

    def remove_device(self, uuid: str) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM devices WHERE uuid = ?", (uuid,)).rowcount == 0:
                raise RegistryError(f"no device {uuid}")

    def grant(self, user: str, uuid: str) -> None:
        with self._write() as db:
            self._require(db, user, uuid)
            if db.execute("SELECT 1 FROM grants WHERE user = ? AND device = ?", (user, uuid)).fetchone():
                raise RegistryError(f"user {user} already has access to device {uuid}")
            db.execute("INSERT INTO grants (user, device) VALUES (?, ?)", (user, uuid))

    def revoke(self, user: str, uuid: str) -> None:
        with self._write() as db:
            self._require(db, user, uuid)
            if db.execute("DELETE FROM grants WHERE user = ? AND device = ?", (user, uuid)).rowcount == 0:
                raise RegistryError(f"user {user} has no access to device {uuid}")

    def set_token(self, user: str, digest: str) -> None:
        """Store the digest of the user's new token; a user has at most one (revoke it first)."""
        with self._write() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (user,)).fetchone() is None:
                raise RegistryError(f"no user {user}")
            if db.execute("SELECT 1 FROM tokens WHERE user = ?", (user,)).fetchone():
                raise RegistryError(f"user {user} already has a token (revoke-token first)")
            db.execute("INSERT INTO tokens (user, digest) VALUES (?, ?)", (user, digest))

    def remove_token(self, user: str) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM tokens WHERE user = ?", (user,)).rowcount == 0:
                raise RegistryError(f"user {user} has no token")

    def add_delegate(self, name: str, key_line: str) -> None:
        valid_name("delegate", name)
        with self._write() as db:
            if db.execute("SELECT 1 FROM delegates WHERE name = ?", (name,)).fetchone():
                raise RegistryError(f"delegate {name} already exists")
            db.execute(
                "INSERT INTO delegates (name, key_line) VALUES (?, ?)", (name, " ".join(key_line.split()))
            )

    def remove_delegate(self, name: str) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM delegates WHERE name = ?", (name,)).rowcount == 0:
                raise RegistryError(f"no delegate {name}")

    def listing(self) -> Listing:
        with self._read() as db:
            keys: dict[str, list[str]] = {}
            for user, line in db.execute("SELECT user, key_line FROM user_keys ORDER BY user, position"):
                keys.setdefault(user, []).append(line)
            users = [
                User(n, tuple(keys.get(n, ()))) for (n,) in db.execute("SELECT name FROM users ORDER BY name")
            ]
            devices = [
                Device(*row) for row in db.execute(f"SELECT {DEVICE_COLUMNS} FROM devices ORDER BY uuid")
            ]
            grants = db.execute("SELECT user, device FROM grants ORDER BY user, device").fetchall()
        return Listing(tuple(users), tuple(devices), tuple(map(tuple, grants)), self.delegates())

    @staticmethod
    def _require(db: sqlite3.Connection, user: str, uuid: str) -> None:
        if db.execute("SELECT 1 FROM users WHERE name = ?", (user,)).fetchone() is None:
            raise RegistryError(f"no user {user}")
        if db.execute("SELECT 1 FROM devices WHERE uuid = ?", (uuid,)).fetchone() is None:
            raise RegistryError(f"no device {uuid}")
