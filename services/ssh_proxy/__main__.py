"""``python -m services.ssh_proxy --agent SOCK --registry PATH|URL --host-keys DIR [--listen HOST:PORT] [limits]``.

Serves until SIGTERM. Audit lines go to stdout; warnings and errors go to stderr, one safe line
each (``services.shared.log``: peer bytes are escaped and never formatted). The limits
(``--login-grace-time``, ``--max-startups``, ...) are sshd_config's, with its defaults.
"""

import argparse
import sys

from twisted.internet import reactor
from twisted.logger import LogLevel

from services.shared import arguments, log
from services.shared.errors import ServiceError, report, run
from services.ssh_proxy import hostkeys, server
from services.ssh_proxy.limits import Limits, Startups
from services.ssh_proxy.registry_access import Registry
from services.ssh_proxy.settings import Settings


def _startups(text: str) -> Startups:
    try:
        return Startups.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# Limits field, type, metavar, help: named as OpenSSH's sshd_config names them, where it has them.
_LIMIT_OPTIONS = (
    ("login_grace_time", arguments.seconds, "SECONDS", "from accept to login, whatever happens (LoginGraceTime)"),
    ("max_startups", _startups, "START:RATE:FULL", "early drop of connections not logged in (MaxStartups)"),
    ("max_auth_tries", arguments.count, "N", "failed authentication attempts per connection (MaxAuthTries)"),
    ("max_sessions", arguments.count, "N", "session channels open at once per connection (MaxSessions)"),
    ("max_channels", arguments.count, "N", "channels of every type open at once per connection"),
    ("no_device_timeout", arguments.seconds, "SECONDS", "how long a logged-in connection may stay without a device"),
)


def _add_limit_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("limits")
    for field, kind, metavar, text in _LIMIT_OPTIONS:
        default = getattr(Limits(), field)
        flag, text = "--" + field.replace("_", "-"), f"{text}; default {default}"
        group.add_argument(flag, type=kind, default=default, metavar=metavar, help=text)


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(**{field: getattr(args, field) for field, *_ in _LIMIT_OPTIONS})


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m services.ssh_proxy", description=__doc__)
    parser.add_argument(
        "--agent", required=True, help="the ssh-agent socket holding the proxy's identity keys"
    )
    parser.add_argument(
        "--registry",
        required=True,
        metavar="PATH|URL",
        help="the registry (users, devices, grants): a SQLite file, or a postgresql:// URL shared by a fleet",
    )
    parser.add_argument(
        "--host-keys", required=True, help="directory of the proxy's host keys (made if absent)"
    )
    parser.add_argument("--listen", type=arguments.address, help="HOST:PORT to bind when no socket is handed down")
    parser.add_argument(
        "--log-level",
        choices=[level.name for level in LogLevel.iterconstants()],
        default="warn",
        help="the least severe events logged on stderr (default warn: Conch logs every disconnect "
        "and failed login at info)",
    )
    _add_limit_options(parser)
    args = parser.parse_args()

    log.start("ssh_proxy", LogLevel.levelWithName(args.log_level))

    settings = Settings(Registry.open(args.registry), args.agent, _limits(args))
    proxy = server.ProxyFactory(settings, hostkeys.load_or_create(args.host_keys))
    status = []

    def cannot_listen(failure) -> None:
        status.append(report(ServiceError(f"cannot listen: {failure.getErrorMessage()}"), "ssh_proxy"))
        reactor.callWhenRunning(reactor.stop)

    server.listen(reactor, proxy, args.listen).addCallbacks(lambda _: server.notify_ready(), cannot_listen)
    reactor.run()
    return status[0] if status else 0


if __name__ == "__main__":
    sys.exit(run(main, "ssh_proxy"))
