"""Who may reach which device: the registry's data, its interface, and where it is kept.

Proxy workers only read (``Store``), and so does the web terminal; the admin command changes it.
One class, ``RegistryStore``, holds every query and change, written once for both databases: an
embedded SQLite file (``SQLiteStore``, the default: nothing to start) or a PostgreSQL server
shared by a fleet of proxy pods (``services.shared.registry_postgres``). ``open_store`` picks one
from the location: a ``postgresql://`` URL, or else a file path.

A store keeps one connection and makes every call its own transaction: the admin command changes
the registry under running workers, and a new transaction sees the last committed change, with
no cache to invalidate. One connection per worker, not one per call, so that a flood of logins
costs neither file descriptors nor database connections; a connection that breaks is opened
again by the next call. Writes are one at a time (SQLite's ``BEGIN IMMEDIATE``, an advisory lock
on PostgreSQL), so a check-then-change such as pinning a device's host key on first use cannot
race another writer, even one in another pod.

The SQLite file is private (0600, in a 0700 directory when ``init`` creates it): it says who may
reach which device.
"""

import abc
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

# One script per schema version; ``init`` runs those past the database's version. The same SQL
# for both databases: "user" is quoted everywhere, as PostgreSQL reserves the word.
MIGRATIONS = (
    """
    CREATE TABLE users (name TEXT PRIMARY KEY);
    CREATE TABLE user_keys (
        "user" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        key_line TEXT NOT NULL,
        PRIMARY KEY ("user", position)
    );
    CREATE TABLE devices (
        uuid TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        port INTEGER NOT NULL,
        login TEXT NOT NULL,
        host_key TEXT
    );
    CREATE TABLE grants (
        "user" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        device TEXT NOT NULL REFERENCES devices(uuid) ON DELETE CASCADE,
        PRIMARY KEY ("user", device)
    );
    """,
    # 2: the web terminal's sign-in tokens (hashed) and the keys allowed to act for users.
    """
    CREATE TABLE tokens (
        "user" TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
        digest TEXT NOT NULL
    );
    CREATE TABLE delegates (name TEXT PRIMARY KEY, key_line TEXT NOT NULL);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
TABLES = ("users", "user_keys", "devices", "grants", "tokens", "delegates")
DEVICE_COLUMNS = "uuid, address, port, login, host_key"  # the order of Device's fields
POSTGRESQL_SCHEMES = ("postgresql", "postgres")  # libpq's URL schemes

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
    def pin_host_key(self, uuid: str, key_line: str) -> str: ...  # first use under TOFU
    def delegates(self) -> tuple["Delegate", ...]: ...


class Connection(typing.Protocol):
    """The part of a DB-API connection the queries use, with ``?`` placeholders."""

    def execute(self, query: str, parameters: tuple = ...) -> typing.Any: ...


def valid_name(what: str, name: str) -> str:
    if not NAME.fullmatch(name):
        raise RegistryError(f"{what} {name!r}: {NAME_RULE}")
    return name


def same_key(line_a: str, line_b: str) -> bool:
    """Two key lines name the same key when type and blob match (comments may differ)."""
    return line_a.split()[:2] == line_b.split()[:2]


def is_url(location: str) -> bool:
    return urllib.parse.urlsplit(location).scheme in POSTGRESQL_SCHEMES


def open_store(location: str) -> "RegistryStore":
    """The registry at ``location``: a ``postgresql://`` URL, or the path of a SQLite file."""
    if is_url(location):
        from services.shared.registry_postgres import PostgresStore  # psycopg only where it is used

        return PostgresStore(location)
    return SQLiteStore(location)


class RegistryStore(abc.ABC):
    """The registry's queries and changes; a subclass connects to its database.

    Used by one thread at a time (a worker's registry thread, or the admin command). A subclass
    provides the connection, the statements that begin a read and a write transaction, the
    database's own errors, and where the schema version is kept.
    """

    where: str  # how messages name the registry (never with a password)
    BEGIN_READ: str
    BEGIN_WRITE: str
    DATABASE_ERRORS: tuple[type[Exception], ...]

    @abc.abstractmethod
    def _connection(self) -> Connection:
        """The open connection, opened (again) when there is none or it broke."""

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def _schema_version(self, db: Connection) -> int: ...

    @abc.abstractmethod
    def _migrate(self, db: Connection) -> int:
        """Run the migrations past the database's version, in ``init``'s transaction; the version
        it had."""

    def _describe(self, error: Exception) -> str:
        """The database's error as one line for the message."""
        return str(error).splitlines()[0] if str(error) else type(error).__name__

    def _error(self, message: str) -> RegistryError:
        return RegistryError(f"registry {self.where}: {message}")

    @abc.abstractmethod
    def _hold_write_lock(self, db: Connection) -> None:
        """Make the write transaction just begun the only writer."""

    @contextlib.contextmanager
    def _transaction(self, write: bool, check_schema: bool = True) -> Iterator[Connection]:
        """One transaction: everything in it is committed, or nothing is."""
        try:
            db = self._connection()
            db.execute(self.BEGIN_WRITE if write else self.BEGIN_READ)
            try:
                if write:
                    self._hold_write_lock(db)
                if check_schema:
                    version = self._schema_version(db)
                    if version != SCHEMA_VERSION:
                        raise self._error(f"schema version {version}, expected {SCHEMA_VERSION} (run init)")
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except self.DATABASE_ERRORS as error:
            self.close()  # whatever state it is in, the next call starts from a fresh connection
            raise self._error(self._describe(error)) from None

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        return self._transaction(write=False)

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        return self._transaction(write=True)

    # -- Store: what the proxy workers read

    def user(self, name: str) -> User | None:
        with self._read() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is None:
                return None
            rows = db.execute('SELECT key_line FROM user_keys WHERE "user" = ? ORDER BY position', (name,))
            return User(name, tuple(line for (line,) in rows))

    def device(self, uuid: str) -> Device | None:
        with self._read() as db:
            row = db.execute(f"SELECT {DEVICE_COLUMNS} FROM devices WHERE uuid = ?", (uuid,)).fetchone()
        return Device(*row) if row else None

    def may_access(self, user: str, uuid: str) -> bool:
        with self._read() as db:
            query = 'SELECT 1 FROM grants WHERE "user" = ? AND device = ?'
            return db.execute(query, (user, uuid)).fetchone() is not None

    def pin_host_key(self, uuid: str, key_line: str) -> str:
        """Pin the key seen on first use; the pin in force, which may be another key pinned meanwhile.

        Another proxy (another worker, another pod) may have pinned the device since this one
        read it: that pin is never replaced, and the caller compares the key it saw with the
        one returned, so a changed device key is refused with the same words everywhere.
        """
        try:
            sshkeys.parse_public_line(key_line, f"host key for device {uuid}")
        except ServiceError as failure:  # one exception type for the proxy to catch
            raise RegistryError(failure.message) from None
        line = " ".join(key_line.split())
        with self._write() as db:
            row = db.execute("SELECT host_key FROM devices WHERE uuid = ?", (uuid,)).fetchone()
            if row is None:
                raise RegistryError(f"no device {uuid}")
            if row[0] is not None:
                return row[0]
            db.execute("UPDATE devices SET host_key = ? WHERE uuid = ?", (line, uuid))
        return line

    def delegates(self) -> tuple[Delegate, ...]:
        with self._read() as db:
            rows = db.execute("SELECT name, key_line FROM delegates ORDER BY name").fetchall()
        return tuple(Delegate(*row) for row in rows)

    # -- what the web terminal reads

    def token_digest(self, user: str) -> str | None:
        """The digest of the user's sign-in token (``services.shared.access_tokens``), None if none."""
        with self._read() as db:
            row = db.execute('SELECT digest FROM tokens WHERE "user" = ?', (user,)).fetchone()
        return row[0] if row else None

    def granted_devices(self, user: str) -> tuple[str, ...]:
        with self._read() as db:
            rows = db.execute('SELECT device FROM grants WHERE "user" = ? ORDER BY device', (user,))
            return tuple(uuid for (uuid,) in rows)

    # -- administration

    def init(self) -> tuple[int, int]:
        """Create or migrate the schema (idempotent); return (version before, version now)."""
        with self._transaction(write=True, check_schema=False) as db:
            before = self._migrate(db)
        return before, SCHEMA_VERSION

    def _migrations_from(self, db: Connection, before: int) -> None:
        """Run every migration script past version ``before``, statement by statement."""
        if before > SCHEMA_VERSION:
            raise self._error(f"schema version {before} is newer than this code ({SCHEMA_VERSION})")
        for script in MIGRATIONS[before:]:
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)

    def check(self) -> None:
        """Return if the registry opens with the current schema and its tables answer."""
        with self._read() as db:
            for table in TABLES:
                db.execute(f"SELECT count(*) FROM {table}").fetchone()

    def add_user(self, name: str, public_keys: tuple[str, ...]) -> None:
        valid_name("user", name)
        with self._write() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise RegistryError(f"user {name} already exists")
            db.execute("INSERT INTO users (name) VALUES (?)", (name,))
            for position, line in enumerate(public_keys):
                db.execute(
                    'INSERT INTO user_keys ("user", position, key_line) VALUES (?, ?, ?)',
                    (name, position, " ".join(line.split())),
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
            if db.execute('SELECT 1 FROM grants WHERE "user" = ? AND device = ?', (user, uuid)).fetchone():
                raise RegistryError(f"user {user} already has access to device {uuid}")
            db.execute('INSERT INTO grants ("user", device) VALUES (?, ?)', (user, uuid))

    def revoke(self, user: str, uuid: str) -> None:
        with self._write() as db:
            self._require(db, user, uuid)
            if db.execute('DELETE FROM grants WHERE "user" = ? AND device = ?', (user, uuid)).rowcount == 0:
                raise RegistryError(f"user {user} has no access to device {uuid}")

    def set_token(self, user: str, digest: str) -> None:
        """Store the digest of the user's new token; a user has at most one (revoke it first)."""
        with self._write() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (user,)).fetchone() is None:
                raise RegistryError(f"no user {user}")
            if db.execute('SELECT 1 FROM tokens WHERE "user" = ?', (user,)).fetchone():
                raise RegistryError(f"user {user} already has a token (revoke-token first)")
            db.execute('INSERT INTO tokens ("user", digest) VALUES (?, ?)', (user, digest))

    def remove_token(self, user: str) -> None:
        with self._write() as db:
            if db.execute('DELETE FROM tokens WHERE "user" = ?', (user,)).rowcount == 0:
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
            rows = db.execute('SELECT "user", key_line FROM user_keys ORDER BY "user", position')
            for user, line in rows:
                keys.setdefault(user, []).append(line)
            users = [
                User(n, tuple(keys.get(n, ()))) for (n,) in db.execute("SELECT name FROM users ORDER BY name")
            ]
            devices = [
                Device(*row) for row in db.execute(f"SELECT {DEVICE_COLUMNS} FROM devices ORDER BY uuid")
            ]
            grants = db.execute('SELECT "user", device FROM grants ORDER BY "user", device').fetchall()
        return Listing(tuple(users), tuple(devices), tuple(map(tuple, grants)), self.delegates())

    @staticmethod
    def _require(db: Connection, user: str, uuid: str) -> None:
        if db.execute("SELECT 1 FROM users WHERE name = ?", (user,)).fetchone() is None:
            raise RegistryError(f"no user {user}")
        if db.execute("SELECT 1 FROM devices WHERE uuid = ?", (uuid,)).fetchone() is None:
            raise RegistryError(f"no device {uuid}")


class SQLiteStore(RegistryStore):
    """The registry in an embedded SQLite file, in WAL mode so that workers read as the admin writes.

    If the file is replaced (another inode), the connection is opened again.
    """

    BEGIN_READ = "BEGIN"
    BEGIN_WRITE = "BEGIN IMMEDIATE"
    DATABASE_ERRORS = (sqlite3.Error,)

    def __init__(self, path: str) -> None:
        self.path = self.where = str(path)
        self._db: sqlite3.Connection | None = None
        self._inode: tuple[int, int] | None = None  # (device, inode) of the file ``_db`` has open

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
            self._db = sqlite3.connect(
                uri, uri=True, timeout=5.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA foreign_keys = ON")
            self._inode = (status.st_dev, status.st_ino)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = self._inode = None

    def _hold_write_lock(self, db: Connection) -> None:
        """BEGIN IMMEDIATE has: SQLite lets one writer in at a time."""

    def _schema_version(self, db: Connection) -> int:
        return db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self, db: Connection) -> int:
        before = self._schema_version(db)
        self._migrations_from(db, before)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return before

    def init(self) -> tuple[int, int]:
        """Create the file (private) and its directory if absent, switch to WAL, then migrate."""
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
            self.close()
            raise self._error(str(error)) from None
        return super().init()
