"""``python -m services.web_terminal --proxy HOST:PORT --listen HOST:PORT --registry PATH|URL --key FILE
--proxy-host-keys DIR [--allowed-origin URL] [--max-sessions N] [--idle-timeout SECONDS]
[--ping-interval SECONDS] [--max-connections N] [--max-connections-per-address N]
[--max-failed-sign-ins N]``.

Serves until SIGTERM. Warnings and errors go to stderr, one line each; tokens never do.
"""

import argparse
import sys
from pathlib import Path

from twisted.internet import endpoints, reactor

from services.shared import arguments, log, sshkeys
from services.shared.errors import ServiceError, report, run
from services.shared.registry_store import open_store
from services.web_terminal import proxy_client, web
from services.web_terminal.settings import Limits, Settings

NAME = "web_terminal"


def read_key(path: str):
    """The web terminal's own private key; ServiceError if it is absent, unreadable or RSA."""
    if not Path(path).exists():
        raise ServiceError(
            f"{path}: no such key (make it with `ssh-keygen -t ed25519 -N '' -f {path}` and register "
            f"{path}.pub with `python -m services.registry add-delegate web-terminal --key {path}.pub`)"
        )
    key = sshkeys.read_private_key(Path(path))
    if key.type() == "RSA":
        raise ServiceError(
            f"{path}: the web terminal's key must be Ed25519 or ECDSA "
            "(Conch's client signs RSA logins with SHA-1 ssh-rsa, which SSH servers now refuse)"
        )
    return key


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m services.web_terminal", description=__doc__)
    parser.add_argument("--proxy", type=arguments.address, required=True, help="the SSH proxy, HOST:PORT")
    parser.add_argument("--listen", type=arguments.address, required=True, help="HOST:PORT to serve browsers on")
    parser.add_argument(
        "--registry",
        required=True,
        metavar="PATH|URL",
        help="the registry (tokens, grants): a SQLite file or a postgresql:// URL",
    )
    parser.add_argument("--key", required=True, help="the web terminal's private key, a registry delegate")
    parser.add_argument("--proxy-host-keys", required=True, help="the proxy's host-keys directory (*.pub)")
    parser.add_argument(
        "--allowed-origin", action="append", default=[],
        help="an Origin allowed besides the page's own (repeatable), e.g. behind a TLS proxy",
    )  # fmt: skip
    defaults = Limits()
    parser.add_argument(
        "--max-sessions", type=arguments.count, default=defaults.sessions_per_user, help="terminals per user"
    )
    parser.add_argument(
        "--idle-timeout",
        type=arguments.seconds,
        default=defaults.idle_timeout,
        help="seconds without a keystroke or resize before a terminal is closed",
    )
    parser.add_argument(
        "--ping-interval",
        type=arguments.seconds,
        default=defaults.ping_interval,
        help="seconds between WebSocket pings (two unanswered close the terminal)",
    )
    parser.add_argument(
        "--max-connections",
        type=arguments.count,
        default=defaults.connections,
        help="TCP connections at once, signed in or not, WebSockets included",
    )
    parser.add_argument(
        "--max-connections-per-address",
        type=arguments.count,
        default=defaults.connections_per_address,
        help="of them from one client address (behind a reverse proxy: all of them)",
    )
    parser.add_argument(
        "--max-failed-sign-ins",
        type=arguments.count,
        default=defaults.failed_sign_ins,
        help="failed sign-ins from one client address at once, then one more every minute / N",
    )
    args = parser.parse_args()

    log.start(NAME)

    limits = Limits(
        sessions_per_user=args.max_sessions,
        idle_timeout=args.idle_timeout,
        ping_interval=args.ping_interval,
        connections=args.max_connections,
        connections_per_address=args.max_connections_per_address,
        failed_sign_ins=args.max_failed_sign_ins,
    )
    host, port = args.proxy
    registry = open_store(args.registry)
    registry.check()  # a registry without tokens (schema 1) fails here, not per request
    registry.close()  # opened again by the registry's thread, the one that uses it from now on
    settings = Settings(registry, host, port, args.proxy_host_keys, read_key(args.key), limits)
    proxy_client.known_host_keys(args.proxy_host_keys)
    site = web.site(reactor, settings, tuple(args.allowed_origin))
    status = []

    def cannot_listen(failure) -> None:
        status.append(report(ServiceError(f"cannot listen: {failure.getErrorMessage()}"), NAME))
        reactor.callWhenRunning(reactor.stop)

    listen_host, listen_port = args.listen
    endpoint = endpoints.TCP4ServerEndpoint(reactor, listen_port, interface=listen_host)
    endpoint.listen(site).addErrback(cannot_listen)
    reactor.run()
    return status[0] if status else 0


if __name__ == "__main__":
    sys.exit(run(main, NAME))
