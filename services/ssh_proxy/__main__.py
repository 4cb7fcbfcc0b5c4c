"""``python -m services.ssh_proxy --agent SOCK --registry DB --host-keys DIR [--listen HOST:PORT]``.

Serves until SIGTERM. Audit lines go to stdout; warnings and errors go to stderr, one safe line
each (``services.log``: peer bytes are escaped and never formatted).
"""

import argparse
import sys

from twisted.internet import reactor
from twisted.logger import LogLevel

from services import log
from services.errors import Failure, report, run
from services.ssh_proxy import hostkeys, server
from services.ssh_proxy.registry_access import Registry
from services.ssh_proxy.settings import Settings


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m services.ssh_proxy", description=__doc__)
    parser.add_argument(
        "--agent", required=True, help="the ssh-agent socket holding the proxy's identity keys"
    )
    parser.add_argument("--registry", required=True, help="the registry database (users, devices, grants)")
    parser.add_argument(
        "--host-keys", required=True, help="directory of the proxy's host keys (made if absent)"
    )
    parser.add_argument("--listen", type=_address, help="HOST:PORT to bind when no socket is handed down")
    parser.add_argument(
        "--log-level",
        choices=[level.name for level in LogLevel.iterconstants()],
        default="warn",
        help="the least severe events logged on stderr (default warn: Conch logs every disconnect "
        "and failed login at info)",
    )
    args = parser.parse_args()

    log.start("ssh_proxy", LogLevel.levelWithName(args.log_level))

    proxy = server.ProxyFactory(
        Settings(Registry.sqlite(args.registry), args.agent), hostkeys.load_or_create(args.host_keys)
    )
    status = []

    def cannot_listen(failure) -> None:
        status.append(report(Failure(f"cannot listen: {failure.getErrorMessage()}"), "ssh_proxy"))
        reactor.callWhenRunning(reactor.stop)

    server.listen(reactor, proxy, args.listen).addCallbacks(lambda _: server.notify_ready(), cannot_listen)
    reactor.run()
    return status[0] if status else 0


if __name__ == "__main__":
    sys.exit(run(main, "ssh_proxy"))
