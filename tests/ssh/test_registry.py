"""The registry: admin command round trip, grants, TOFU pins, live changes, and bad input.

Every test runs against both backends: the embedded SQLite file and a real PostgreSQL server
(``tests.helpers.postgres``), through the same admin command and the same ``Store``.
"""

import json
import socket
import sqlite3

import attrs
import psycopg
import pytest

from services.registry import Delegate, Device, Store, User, open_store
from services.shared import access_tokens
from services.shared.registry_store import RegistryError
from tests.helpers.services import keygen, run_service


@attrs.frozen
class Backend:
    """Where a test's registry is, and SQL straight to its database for what the admin cannot do."""

    kind: str  # "sqlite" or "postgresql"
    db: str  # the path or URL given to ``--db``
    where: str  # how messages name it (the URL without its password)

    def __call__(self, *args: str):
        """Run ``python -m services.registry --db DB ARGS``."""
        return run_service("registry", "--db", self.db, *args)

    def sql(self, *statements: str) -> list[tuple]:
        """Run ``statements`` in one transaction; the last one's rows."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.db) as db:
                rows = [db.execute(statement).fetchall() for statement in statements]
            return rows[-1]
        with psycopg.connect(self.db) as db:
            cursors = [db.execute(statement) for statement in statements]
            return cursors[-1].fetchall() if cursors[-1].description else []

    def set_version(self, version: int) -> None:
        if self.kind == "sqlite":
            self.sql(f"PRAGMA user_version = {version}")
        else:
            self.sql(f"UPDATE registry_schema SET version = {version}")


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request, tmp_path) -> Backend:
    """The registry on each backend; SQLite's file lives in a directory that init must create."""
    if request.param == "sqlite":
        path = str(tmp_path / "state" / "registry.sqlite3")
        return Backend("sqlite", path, path)
    url = request.getfixturevalue("postgres_url")
    return Backend("postgresql", url, open_store(url).where)


@pytest.fixture
def keys(tmp_path):
    """Two public key files for alice (ed25519, rsa), one for the device host key."""
    made = {}
    for name, kind in (("alice1", "ed25519"), ("alice2", "rsa"), ("host", "ecdsa")):
        private, line = keygen(tmp_path, kind, name)
        made[name] = (f"{private}.pub", line)
    return made


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def fails(result, message: str) -> None:
    assert result.returncode != 0
    assert result.stderr == f"registry: {message}\n"


def test_round_trip(registry, keys):
    never_made = (
        "no such file (run init)" if registry.kind == "sqlite" else "schema version 0, expected 2 (run init)"
    )
    fails(registry("check"), f"registry {registry.where}: {never_made}")
    assert "schema version 2 (from 0)" in ok(registry("init"))
    assert ok(registry("init")).strip().endswith("schema version 2")  # idempotent
    ok(registry("check"))
    assert ": ED25519 SHA256:" in ok(
        registry("add-user", "alice", "--key", keys["alice1"][0], "--key", keys["alice2"][0])
    )
    ok(
        registry(
            "add-device",
            "dev-1",
            "--address",
            "127.0.0.1",
            "--port",
            "2200",
            "--login",
            "root",
            "--host-key",
            keys["host"][0],
        )
    )
    ok(registry("add-device", "dev-2", "--address", "localhost", "--port", "22", "--login", "pi", "--tofu"))
    ok(registry("grant", "alice", "dev-1"))
    listing = json.loads(ok(registry("list", "--json")))
    assert listing == {
        "users": [{"name": "alice", "public_keys": [keys["alice1"][1], keys["alice2"][1]]}],
        "devices": [
            {
                "uuid": "dev-1",
                "address": "127.0.0.1",
                "port": 2200,
                "login": "root",
                "host_key": keys["host"][1],
            },
            {"uuid": "dev-2", "address": "localhost", "port": 22, "login": "pi", "host_key": None},
        ],
        "grants": [{"user": "alice", "device": "dev-1"}],
        "delegates": [],
    }
    text = ok(registry("list"))
    assert "dev-2: pi@localhost:22, host key trust on first use" in text and "alice -> dev-1" in text

    store: Store = open_store(registry.db)
    assert store.user("alice") == User("alice", (keys["alice1"][1], keys["alice2"][1]))
    assert store.device("dev-1") == Device("dev-1", "127.0.0.1", 2200, "root", keys["host"][1])
    assert store.may_access("alice", "dev-1") and not store.may_access("alice", "dev-2")
    assert (
        store.user("bob") is None and store.device("dev-9") is None and not store.may_access("bob", "dev-1")
    )

    ok(registry("revoke", "alice", "dev-1"))
    assert not store.may_access("alice", "dev-1")
    ok(registry("grant", "alice", "dev-2"))
    ok(registry("remove-device", "dev-2"))  # takes its grants with it
    ok(registry("remove-user", "alice"))
    assert json.loads(ok(registry("list", "--json")))["grants"] == []
    assert store.user("alice") is None


def test_open_store_sees_admin_changes(registry, keys):
    ok(registry("init"))
    store = open_store(registry.db)  # as a running proxy worker holds it
    assert store.user("alice") is None
    ok(registry("add-user", "alice", "--key", keys["alice1"][0]))
    ok(
        registry(
            "add-device", "dev-1", "--address", "10.0.0.1", "--port", "22222", "--login", "root", "--tofu"
        )
    )
    assert store.user("alice").public_keys == (keys["alice1"][1],)
    assert not store.may_access("alice", "dev-1")
    ok(registry("grant", "alice", "dev-1"))
    assert store.may_access("alice", "dev-1")
    ok(registry("revoke", "alice", "dev-1"))
    assert not store.may_access("alice", "dev-1")


def test_tofu_pins_once(registry, keys, tmp_path):
    ok(registry("init"))
    ok(registry("add-device", "dev-1", "--address", "10.0.0.1", "--port", "22", "--login", "root", "--tofu"))
    store = open_store(registry.db)
    first = keys["host"][1]
    assert store.pin_host_key("dev-1", first) == first
    assert store.device("dev-1").host_key == first
    # Pinned already (by this proxy or another): the pin in force is returned and kept.
    assert store.pin_host_key("dev-1", " ".join(first.split()[:2]) + " another-comment") == first
    _, other = keygen(tmp_path, "ed25519", "other_host")
    assert store.pin_host_key("dev-1", other) == first
    assert store.device("dev-1").host_key == first
    with pytest.raises(RegistryError, match="no device dev-9"):
        store.pin_host_key("dev-9", first)
    with pytest.raises(RegistryError, match="not an OpenSSH public key line"):
        store.pin_host_key("dev-1", "ssh-ed25519 not-base64!")


def test_bad_input_is_one_line_and_changes_nothing(registry, keys, tmp_path):
    ok(registry("init"))
    alice = keys["alice1"][0]
    ok(registry("add-user", "alice", "--key", alice))
    ok(registry("add-device", "dev-1", "--address", "10.0.0.1", "--port", "22", "--login", "root", "--tofu"))
    before = ok(registry("list", "--json"))

    fails(registry("add-user", "alice", "--key", alice), "user alice already exists")
    fails(
        registry("add-device", "dev-1", "--address", "h", "--port", "22", "--login", "root", "--tofu"),
        "device dev-1 already exists",
    )
    fails(
        registry("add-user", "a+b", "--key", alice),
        "user 'a+b': use letters, digits, '.', '_' or '-' (at most 64)",
    )
    fails(
        registry("add-device", "dev-2", "--address", "h", "--port", "70000", "--login", "root", "--tofu"),
        "device dev-2: port 70000 is not between 1 and 65535",
    )
    fails(registry("grant", "bob", "dev-1"), "no user bob")
    fails(registry("grant", "alice", "dev-9"), "no device dev-9")
    fails(registry("revoke", "alice", "dev-1"), "user alice has no access to device dev-1")
    fails(registry("remove-user", "bob"), "no user bob")
    fails(registry("remove-device", "dev-9"), "no device dev-9")

    private = tmp_path / "alice1"  # a private key given where a public one belongs
    bad = tmp_path / "bad.pub"
    bad.write_text(f"{keys['alice2'][1]}\nssh-ed25519 garbage\n")
    fails(
        registry("add-user", "bob", "--key", alice, "--key", str(private)),
        f"{private}:1: not an OpenSSH public key line",
    )
    fails(registry("add-user", "bob", "--key", str(bad)), f"{bad}:2: not an OpenSSH public key line")
    fails(
        registry("add-user", "bob", "--key", str(tmp_path / "absent.pub")),
        f"{tmp_path / 'absent.pub'}: cannot read: No such file or directory",
    )
    fails(
        registry(
            "add-device",
            "dev-2",
            "--address",
            "h",
            "--port",
            "22",
            "--login",
            "root",
            "--host-key",
            str(private),
        ),
        f"{private}:1: not an OpenSSH public key line",
    )
    assert "PRIVATE KEY" not in registry("add-user", "bob", "--key", str(private)).stderr
    assert ok(registry("list", "--json")) == before


def test_transaction_rolls_back_half_written_user(registry):
    """A failure inside a write transaction leaves no trace (the user row is not kept alone)."""
    ok(registry("init"))
    store = open_store(registry.db)
    with pytest.raises(RegistryError, match="(?i)foreign key constraint"):
        with store._write() as db:
            db.execute("INSERT INTO users (name) VALUES ('carol')")
            db.execute("""INSERT INTO user_keys ("user", position, key_line) VALUES ('nobody', 0, 'x')""")
    assert store.user("carol") is None


def test_check_refuses_wrong_schema(registry):
    ok(registry("init"))
    registry.set_version(0)
    fails(registry("check"), f"registry {registry.where}: schema version 0, expected 2 (run init)")
    # tables without a version: init refuses, in one line, rather than guess
    exists = "table users already exists" if registry.kind == "sqlite" else 'relation "users" already exists'
    if registry.kind == "postgresql":
        registry.sql("DROP TABLE registry_schema")
    fails(registry("init"), f"registry {registry.where}: {exists}")


def test_sqlite_is_in_wal_mode(tmp_path):
    path = str(tmp_path / "registry.sqlite3")
    assert run_service("registry", "--db", path, "init").returncode == 0
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_tokens_are_kept_hashed_and_one_per_user(registry, keys):
    ok(registry("init"))
    ok(registry("add-user", "alice", "--key", keys["alice1"][0]))
    token = ok(registry("add-token", "alice")).strip()
    user, secret = access_tokens.split(token)
    assert user == "alice" and len(secret) >= 40
    store = open_store(registry.db)
    stored = store.token_digest("alice")
    assert secret not in stored and access_tokens.matches(secret, stored)
    assert not access_tokens.matches(secret[:-1] + "x", stored)
    assert secret not in repr(registry.sql("SELECT * FROM tokens"))  # the secret is nowhere stored
    fails(registry("add-token", "alice"), "user alice already has a token (revoke-token first)")
    fails(registry("add-token", "bob"), "no user bob")
    ok(registry("revoke-token", "alice"))
    assert store.token_digest("alice") is None
    fails(registry("revoke-token", "alice"), "user alice has no token")
    assert access_tokens.split("no colon") is None and access_tokens.split("a+b:secret") is None


def test_delegates(registry, keys):
    ok(registry("init"))
    assert "added delegate web-terminal: ED25519 SHA256:" in ok(
        registry("add-delegate", "web-terminal", "--key", keys["alice1"][0])
    )
    store = open_store(registry.db)
    assert store.delegates() == (Delegate("web-terminal", keys["alice1"][1]),)
    assert "web-terminal: ED25519 SHA256:" in ok(registry("list"))
    fails(
        registry("add-delegate", "web-terminal", "--key", keys["alice2"][0]),
        "delegate web-terminal already exists",
    )
    ok(registry("remove-delegate", "web-terminal"))
    assert store.delegates() == ()
    fails(registry("remove-delegate", "web-terminal"), "no delegate web-terminal")


def test_init_migrates_a_version_1_registry(registry, keys):
    """A registry made before tokens and delegates keeps its data and gains both tables."""
    ok(registry("init"))
    ok(registry("add-user", "alice", "--key", keys["alice1"][0]))
    registry.sql("DROP TABLE tokens", "DROP TABLE delegates")
    registry.set_version(1)
    assert "schema version 2 (from 1)" in ok(registry("init"))
    ok(registry("check"))
    assert open_store(registry.db).user("alice").public_keys == (keys["alice1"][1],)
    assert ok(registry("add-token", "alice")).startswith("alice:")


def _connections(url: str) -> list[int]:
    """The server pids of the registry's connections to the database of ``url``."""
    with psycopg.connect(url) as db:
        query = "SELECT pid FROM pg_stat_activity WHERE application_name = 'device-proxy-registry' AND datname = current_database()"
        return [pid for (pid,) in db.execute(query)]


def test_postgresql_store_keeps_one_connection_and_opens_a_broken_one_again(postgres_url, keys):
    store = open_store(postgres_url)
    store.init()
    for _ in range(20):
        assert store.user("alice") is None and store.delegates() == ()
    (pid,) = _connections(postgres_url)
    with psycopg.connect(postgres_url) as db:  # what a server restart or a failover does to it
        db.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(RegistryError, match="^registry postgresql://registry:\\*\\*\\*@"):
        store.user("alice")  # this lookup fails, saying why ...
    store.add_user("alice", (keys["alice1"][1],))  # ... and the next one connects again
    assert store.user("alice").public_keys == (keys["alice1"][1],)
    assert len(_connections(postgres_url)) == 1


def test_postgresql_lookup_waits_for_a_lock_at_most_5_seconds(postgres_url):
    store = open_store(postgres_url)
    store.init()
    with psycopg.connect(postgres_url) as holder:  # a transaction holding the table, never ending
        holder.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(RegistryError, match="canceling statement due to statement timeout$"):
            store.user("alice")
    assert store.user("alice") is None  # the lock gone, the same store answers


def test_postgresql_password_is_never_in_a_message(postgres_cluster, postgres_url):
    password = postgres_cluster.password
    database = postgres_url.split("@/")[1].split("?")[0]
    for url, message in (
        (
            postgres_url.replace(password, "not-the-password"),
            'password authentication failed for user "registry"',
        ),
        (postgres_url + "&sslmod=require", 'invalid URI query parameter: "sslmod"'),
        (postgres_url.replace(f"@/{database}", "@/absent"), 'database "absent" does not exist'),
    ):
        result = run_service("registry", "--db", url, "check")
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert password not in result.stderr and "not-the-password" not in result.stderr
        assert result.stderr.startswith("registry: registry postgresql://registry:***@/")


def test_postgresql_server_that_never_answers_times_out(postgres_url):
    with socket.socket() as silent:  # accepts connections (the kernel does) and never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        url = f"postgresql://registry:secret@127.0.0.1:{port}/registry?connect_timeout=2"
        result = run_service("registry", "--db", url, "check", timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith(f"registry: registry postgresql://registry:***@127.0.0.1:{port}/")
    assert "timeout expired" in result.stderr and "secret" not in result.stderr
