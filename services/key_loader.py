"""Load the proxy's identity keys into the shared ssh-agent, and check that it still holds them.

This is its own oneshot service because the 2026-02-26 incident came from key loading hidden
inside another service: switched off, it took the keys with it. ``--check`` is the capability's
check, so keys removed from the agent (``ssh-add -D``, an agent restart) are noticed and the
supervisor loads them again.

Every key file is read and parsed before the agent is touched: one bad file fails the run and
nothing is loaded, so a half-loaded agent never passes for a loaded one. Output names keys by
file, type and fingerprint; key material never reaches stdout or stderr.
"""

import argparse
import sys
from pathlib import Path

import attrs
from twisted.conch.ssh import keys
from twisted.internet import defer, task

from services.shared import agent_client, errors, log, sshkeys
from services.shared.errors import ServiceError

NAME = "key-loader"


@attrs.frozen
class KeyFile:
    name: str
    key: keys.Key = attrs.field(repr=False)  # never in a repr: it holds the private key

    @property
    def public_blob(self) -> bytes:
        return self.key.public().blob()

    def describe(self) -> str:
        return f"{self.name} {sshkeys.describe(self.key)}"


def read_keys(directory: Path) -> list[KeyFile]:
    """Every private key of ``directory``; other files (``*.pub``, READMEs) are skipped."""
    try:
        paths = sorted(p for p in directory.iterdir() if p.suffix != ".pub" and not p.is_dir())
    except OSError as error:
        raise ServiceError(f"keys directory {directory}: {error.strerror}") from None
    found, problems = [], []
    for path in paths:
        try:
            with path.open("rb") as file:
                if not sshkeys.looks_private(file.read(64)):
                    continue
            found.append(KeyFile(path.name, sshkeys.read_private_key(path)))
        except OSError as error:
            problems.append(f"{path}: cannot read: {error.strerror}")
        except ServiceError as failure:
            problems.append(failure.message)
    if problems:
        raise ServiceError("; ".join(problems))
    if not found:
        raise ServiceError(f"no keys in {directory}")
    return found


def missing(wanted: list[KeyFile], identities: list[tuple[bytes, bytes]]) -> list[KeyFile]:
    held = {blob for blob, _ in identities}
    return [k for k in wanted if k.public_blob not in held]


async def load(reactor, options: argparse.Namespace) -> None:
    wanted = read_keys(Path(options.keys))
    path, timeout = options.agent, options.timeout
    client = await agent_client.connect(reactor, path, timeout)
    try:
        if not options.check:
            for k in wanted:
                added = client.addIdentity(k.key.privateBlob(), k.name.encode())
                await agent_client.call(reactor, client, path, f"adding {k.name}", added, timeout)
        listed = client.requestIdentities()
        identities = await agent_client.call(reactor, client, path, "listing identities", listed, timeout)
    finally:
        client.transport.loseConnection()
    absent = missing(wanted, identities)
    if absent:
        names = ", ".join(k.describe() for k in absent)
        verb = "no longer holds" if options.check else "does not list, after loading,"
        raise ServiceError(f"agent {path} {verb} {len(absent)} of {len(wanted)} keys: {names}")
    if not options.check:
        for k in wanted:
            print(f"loaded {k.describe()}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.key_loader", description=__doc__.split("\n")[0])
    parser.add_argument("--agent", required=True, help="the ssh-agent socket")
    parser.add_argument("--keys", required=True, help="directory of private keys (OpenSSH or PEM)")
    parser.add_argument("--check", action="store_true", help="only verify the agent holds every key")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for each agent answer")
    return parser.parse_args(argv)


async def guarded(reactor, options: argparse.Namespace) -> None:
    """Run ``load``; an expected failure becomes one stderr line and its exit status."""
    try:
        await load(reactor, options)
    except ServiceError as failure:
        raise SystemExit(errors.report(failure, NAME)) from None


def main(argv: list[str] | None = None) -> None:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    log.start(NAME)  # Twisted's own errors, if any, as one safe line each
    task.react(lambda reactor: defer.Deferred.fromCoroutine(guarded(reactor, options)))


if __name__ == "__main__":
    main()
