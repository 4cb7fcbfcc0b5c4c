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
from services.web_terminal import web
from services.web_terminal.proxy_keys import ProxyKeys
from services.web_terminal.settings import Limits, Settings

NAME = "web_terminal"

# Option, Limits field, type, help: the limits an operator may change (settings.Limits has all).
_LIMIT_OPTIONS = (
    ("--max-sessions", "sessions_per_user", arguments.count, "terminals per user"),
    ("--idle-timeout", "idle_timeout", arguments.seconds, "seconds without keystroke or resize to close one"),
    ("--ping-interval", "ping_interval", arguments.seconds, "between WebSocket pings (two unanswered close it)"),
    ("--max-connections", "connections", arguments.count, "TCP connections at once, signed in or not"),
    ("--max-connections-per-address", "connections_per_address", arguments.count, "of them from one address"),
    ("--max-failed-sign-ins", "failed_sign_ins", arguments.count, "failed sign-ins per address, then one every 60/N s"),
)  # fmt: skip


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
    parser.add_argument(
        "--listen", type=arguments.address, required=True, help="HOST:PORT to serve browsers on"
    )
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
    for flag, field, kind, text in _LIMIT_OPTIONS:
        default = getattr(defaults, field)
        metavar = "SECONDS" if kind is arguments.seconds else "N"
        help_text = f"{text}; default {default:g}"
        parser.add_argument(flag, dest=field, type=kind, default=default, metavar=metavar, help=help_text)
    args = parser.parse_args()

    log.start(NAME)

    limits = Limits(**{field: getattr(args, field) for _, field, *_ in _LIMIT_OPTIONS})
    host, port = args.proxy
    registry = open_store(args.registry)
    registry.check()  # a registry without tokens (schema 1) fails here, not per request
    registry.close()  # opened again by the registry's thread, the one that uses it from now on
    proxy_keys = ProxyKeys(args.proxy_host_keys)
    proxy_keys.current()  # none there: fail now, not at the first session
    settings = Settings(registry, host, port, proxy_keys, read_key(args.key), limits)
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
