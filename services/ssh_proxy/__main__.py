"""``python -m services.ssh_proxy --agent SOCK --registry PATH|URL --host-keys DIR [--listen HOST:PORT] [limits]``.

Serves until SIGTERM; with ``DRAIN_TIMEOUT`` (seconds) in its environment it first drains, and
either way tells the connections left that it is shutting down (``drain``). Audit lines go to stdout; warnings and errors go to stderr, one safe line each
(``services.shared.log``: peer bytes are escaped and never formatted). The limits
(``--login-grace-time``, ``--max-startups``, ...) are sshd_config's, with its defaults. While the
agent or its keys are broken a user is held up to ``--hold-timeout`` (``hold``), and the capability
named by ``--agent-capability`` or ``--keys-capability`` is reported broken on $NOTIFY_SOCKET.
"""

import argparse
import os
import sys

from twisted.internet import reactor
from twisted.logger import LogLevel

from services.shared import arguments, log, notify
from services.shared.errors import ServiceError, report, run
from services.ssh_proxy import drain, hold, hostkeys, server
from services.ssh_proxy.errors import Dependency
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
    ("max_device_logins", arguments.count, "N", "logins to one device in progress at once (under its MaxStartups)"),
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
    group = parser.add_argument_group("holding users while a capability is repaired")
    group.add_argument(
        "--hold-timeout",
        type=arguments.seconds,
        default=hold.TIMEOUT,
        metavar="SECONDS",
        help="how long a user is held while the agent or its keys are broken, before the error line "
        "(default %(default)g)",
    )
    group.add_argument(
        "--agent-capability",
        metavar="NAME",
        help="the capability to report broken on $NOTIFY_SOCKET when the agent cannot be reached "
        "or will not sign",
    )
    group.add_argument(
        "--keys-capability",
        metavar="NAME",
        help="the capability to report broken on $NOTIFY_SOCKET when the agent holds no identity keys",
    )
    args = parser.parse_args()

    log.start("ssh_proxy", LogLevel.levelWithName(args.log_level))

    drain_timeout = drain.timeout_from(os.environ)
    registry = Registry.open(args.registry)
    settings = Settings(registry, args.agent, _limits(args))
    report_as = {Dependency.AGENT: args.agent_capability, Dependency.KEYS: args.keys_capability}
    holds = hold.Hold(
        reactor,
        args.hold_timeout,
        settings.limits.max_startups.full,
        {dependency: name for dependency, name in report_as.items() if name},
    )
    proxy = server.ProxyFactory(settings, hostkeys.load_or_create(args.host_keys), holds)
    draining = drain.Drain(reactor, proxy, drain_timeout)
    draining.install()
    status = []

    def cannot_listen(failure) -> None:
        status.append(report(ServiceError(f"cannot listen: {failure.getErrorMessage()}"), "ssh_proxy"))
        reactor.callWhenRunning(reactor.stop)

    listening = server.listen(reactor, proxy, args.listen).addCallback(draining.listening)
    listening.addCallbacks(lambda _: notify.ready(), cannot_listen)
    reactor.run()
    return status[0] if status else 0


if __name__ == "__main__":
    sys.exit(run(main, "ssh_proxy"))
