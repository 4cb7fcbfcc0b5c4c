"""The registry on a PostgreSQL server (psycopg 3), shared by every proxy pod of a fleet.

Selected by a ``postgresql://`` URL (``open_store``); the queries are ``RegistryStore``'s, the
same as on SQLite. What differs is kept here:

- **One connection per store**, as on SQLite, so a worker holds one connection whatever the load
  (its registry thread queues the lookups); a broken one is closed and the next call connects
  again. Every wait is bounded: ``connect_timeout`` (5 s unless the URL sets it), and on the
  session ``statement_timeout`` (5 s, as SQLite's busy timeout: waiting for a lock included) and
  ``idle_in_transaction_session_timeout``, so a stuck server or lock costs a lookup 5 s, never
  a worker.
- **Transactions**: a read is ``REPEATABLE READ READ ONLY``, so a lookup of several statements
  sees one snapshot as on SQLite; a write takes a transaction-scoped advisory lock first, so
  writers (the admin command, a TOFU pin from any pod, ``init`` from every pod starting at
  once) go one at a time, as SQLite's ``BEGIN IMMEDIATE`` makes them.
- **The schema version** is the one row of ``registry_schema`` (SQLite's ``user_version``).
- **The password never reaches a message**: the URL is shown without it, and libpq's errors,
  which may quote the URL, are cleaned of it.
"""

import re
import urllib.parse

import psycopg
from psycopg import conninfo

from services.shared.registry_store import SCHEMA_VERSION, Connection, RegistryStore

DEFAULTS = {"connect_timeout": "5", "application_name": "device-proxy-registry"}
SESSION = "SET statement_timeout = '5s'; SET idle_in_transaction_session_timeout = '30s'"
WRITE_LOCK = 0x5245474953545259  # the advisory lock every registry writer takes ("REGISTRY")
_USERINFO = re.compile(r"(://[^:/?#@\s]*:)[^@\s]*@")
_PASSWORD_PARAMETER = re.compile(r"((?:^|[?&\s])password=)[^&\s]*")


def redact(text: str, password: str | None = None) -> str:
    """``text`` with the URL's password (``user:PASSWORD@``, ``password=``) shown as ``***``."""
    if password:
        text = text.replace(password, "***").replace(urllib.parse.quote(password, safe=""), "***")
    return _PASSWORD_PARAMETER.sub(r"\1***", _USERINFO.sub(r"\1***@", text))


class _Placeholders:
    """A psycopg connection that takes the queries' ``?`` placeholders (psycopg's are ``%s``)."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection

    def execute(self, query: str, parameters: tuple = ()):
        return self.connection.execute(query.replace("?", "%s"), parameters)


class PostgresStore(RegistryStore):
    BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    BEGIN_WRITE = "BEGIN"
    DATABASE_ERRORS = (psycopg.Error,)

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self._password = urllib.parse.urlsplit(url).password
        except ValueError:  # libpq will say what is wrong with the URL
            self._password = None
        self.where = redact(url, self._password)
        self._db: _Placeholders | None = None

    def _connection(self) -> Connection:
        if self._db is not None and not self._db.connection.closed:
            return self._db
        parameters = conninfo.conninfo_to_dict(self.url)
        for name, value in DEFAULTS.items():
            parameters.setdefault(name, value)
        connection = psycopg.connect(conninfo.make_conninfo("", **parameters), autocommit=True)
        try:
            connection.execute(SESSION)
        except psycopg.Error:
            connection.close()
            raise
        self._db = _Placeholders(connection)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.connection.close()
        self._db = None

    def _describe(self, error: Exception) -> str:
        diagnostic = getattr(error, "diag", None)
        message = (diagnostic and diagnostic.message_primary) or super()._describe(error)
        return redact(message.strip(), self._password)

    def _hold_write_lock(self, db: Connection) -> None:
        db.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))

    def _schema_version(self, db: Connection) -> int:
        row = db.execute("SELECT to_regclass('registry_schema') IS NOT NULL").fetchone()
        if not row[0]:
            return 0
        return db.execute("SELECT version FROM registry_schema").fetchone()[0]

    def _migrate(self, db: Connection) -> int:
        before = self._schema_version(db)
        self._migrations_from(db, before)
        if before == 0:
            db.execute("CREATE TABLE registry_schema (version INTEGER NOT NULL)")
            db.execute("INSERT INTO registry_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        else:
            db.execute("UPDATE registry_schema SET version = ?", (SCHEMA_VERSION,))
        return before
