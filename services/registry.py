"""The device registry: its read interface for the proxy, and the admin command.

``python -m services.registry --db PATH|URL COMMAND``: a SQLite file, or a ``postgresql://``
URL for a registry shared by a fleet of proxy pods (the same schema, migrations and commands).
``init`` is the graph's oneshot (create or migrate the schema) and ``check`` its health check;
the other commands are for the operator. Each change is one transaction: bad input leaves the
registry as it was and prints one error line.
"""

import argparse
import json
import sys

import attrs

from services.shared import access_tokens, errors, sshkeys
from services.shared.registry_store import (
    Delegate,
    Device,
    Listing,
    RegistryError,
    SQLiteStore,
    Store,
    User,
    open_store,
)

__all__ = [
    "Delegate",
    "Device",
    "Listing",
    "RegistryError",
    "SQLiteStore",
    "Store",
    "User",
    "main",
    "open_store",
]


def host_key_line(path: str, what: str = "host key") -> str:
    lines = sshkeys.read_public_lines(path)
    if len(lines) != 1:
        raise RegistryError(f"{path}: expected one {what}, found {len(lines)}")
    return lines[0]


def fingerprints(lines: tuple[str, ...]) -> str:
    return ", ".join(sshkeys.describe(sshkeys.parse_public_line(line, "registry")) for line in lines)


def print_listing(listing: Listing, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "users": [attrs.asdict(u) for u in listing.users],
                    "devices": [attrs.asdict(d) for d in listing.devices],
                    "grants": [{"user": u, "device": d} for u, d in listing.grants],
                    "delegates": [attrs.asdict(d) for d in listing.delegates],
                },
                indent=2,
            )
        )
        return
    print("users:")
    for user in listing.users:
        print(f"  {user.name}: {fingerprints(user.public_keys)}")
    print("devices:")
    for d in listing.devices:
        pin = fingerprints((d.host_key,)) if d.host_key else "trust on first use"
        print(f"  {d.uuid}: {d.login}@{d.address}:{d.port}, host key {pin}")
    print("grants:")
    for user, uuid in listing.grants:
        print(f"  {user} -> {uuid}")
    print("delegates (may log in to the proxy for any user):")
    for delegate in listing.delegates:
        print(f"  {delegate.name}: {fingerprints((delegate.key_line,))}")


def run(options: argparse.Namespace) -> int:
    store = open_store(options.db)
    command = options.command
    if command == "init":
        before, now = store.init()
        print(
            f"registry {store.where}: schema version {now}" + (f" (from {before})" if before != now else "")
        )
    elif command == "check":
        store.check()
    elif command == "add-user":
        lines = tuple(line for path in options.key for line in sshkeys.read_public_lines(path))
        store.add_user(options.name, lines)
        print(f"added user {options.name}: {fingerprints(lines)}")
    elif command == "remove-user":
        store.remove_user(options.name)
        print(f"removed user {options.name} and their grants")
    elif command == "add-device":
        host_key = None if options.tofu else host_key_line(options.host_key)
        store.add_device(Device(options.uuid, options.address, options.port, options.login, host_key))
        print(f"added device {options.uuid}")
    elif command == "remove-device":
        store.remove_device(options.uuid)
        print(f"removed device {options.uuid} and its grants")
    elif command == "grant":
        store.grant(options.user, options.uuid)
        print(f"granted {options.user} access to {options.uuid}")
    elif command == "revoke":
        store.revoke(options.user, options.uuid)
        print(f"revoked {options.user}'s access to {options.uuid}")
    elif command == "add-token":
        token, digest = access_tokens.issue(options.user)
        store.set_token(options.user, digest)
        print(token)  # shown once: the registry keeps only its digest
    elif command == "revoke-token":
        store.remove_token(options.user)
        print(f"revoked {options.user}'s token")
    elif command == "add-delegate":
        line = host_key_line(options.key, "public key")
        store.add_delegate(options.name, line)
        print(f"added delegate {options.name}: {fingerprints((line,))}")
    elif command == "remove-delegate":
        store.remove_delegate(options.name)
        print(f"removed delegate {options.name}")
    else:
        print_listing(store.listing(), options.json)
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.registry", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--db", required=True, metavar="PATH|URL", help="the registry: a SQLite file, or a postgresql:// URL"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create or migrate the schema (idempotent)")
    commands.add_parser("check", help="exit 0 if the registry is readable with the current schema")
    add_user = commands.add_parser("add-user", help="add a user with their public keys")
    add_user.add_argument("name")
    add_user.add_argument("--key", action="append", required=True, help="public key file (repeatable)")
    commands.add_parser("remove-user").add_argument("name")
    add_device = commands.add_parser("add-device", help="add a device and how to reach its sshd")
    add_device.add_argument("uuid")
    add_device.add_argument("--address", required=True)
    add_device.add_argument("--port", type=int, required=True)
    add_device.add_argument("--login", required=True)
    pin = add_device.add_mutually_exclusive_group(required=True)
    pin.add_argument("--host-key", help="file holding the device's public host key")
    pin.add_argument("--tofu", action="store_true", help="pin the host key seen on first connection")
    commands.add_parser("remove-device").add_argument("uuid")
    for name in ("grant", "revoke"):
        sub = commands.add_parser(name)
        sub.add_argument("user")
        sub.add_argument("uuid")
    token = commands.add_parser("add-token", help="issue the user's web terminal token (printed once)")
    token.add_argument("user")
    commands.add_parser("revoke-token", help="revoke the user's web terminal token").add_argument("user")
    delegate = commands.add_parser(
        "add-delegate", help="allow a key to log in to the proxy for any user (the web terminal's key)"
    )
    delegate.add_argument("name", help="recorded as 'via' in the proxy's audit lines")
    delegate.add_argument("--key", required=True, help="file holding the delegate's public key")
    commands.add_parser("remove-delegate").add_argument("name")
    commands.add_parser("list").add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    return errors.run(lambda: run(options), "registry")


if __name__ == "__main__":
    sys.exit(main())
