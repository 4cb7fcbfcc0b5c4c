"""SSH through the proxy, checked from outside: one real session to a canary device.

``python -m services.ssh_probe --proxy HOST:PORT --user USER --key FILE --device UUID
--proxy-host-keys DIR [--timeout SECONDS]`` logs in to the proxy as ``USER+UUID`` (a user the
registry grants the canary device), runs ``true`` there, and exits 0 when it exits 0. So it
proves what a user needs, end to end: a worker accepting, the registry answering, the agent
holding the identity keys, the device's pin, and the login to the device. It is the ``check`` of
``device-ssh`` in ``graphs/device-proxy.toml`` and a command an external monitor can run.

When it fails it prints one line and exits 1; when the proxy refused the session, that line is
the proxy's own (``device canary is offline or unreachable (...)``, ``the proxy has no identity
keys loaded (...)``), which the supervisor shows as the check's output in ``status``.

It logs in as :mod:`services.shared.proxy_login` says (the proxy's host key must be one of the
``*.pub`` of its host-keys directory), with an Ed25519 or ECDSA key (Conch signs RSA logins with
SHA-1, which the proxy refuses). Everything is bounded by ``--timeout``.
"""

import argparse
import struct
import sys
from pathlib import Path

from twisted.conch.ssh import channel, common
from twisted.internet import defer, error, task

from services.shared import arguments, errors, log, proxy_login, sshkeys
from services.shared.errors import ServiceError

NAME = "ssh_probe"
COMMAND = b"true"
STDERR_LIMIT = 4096  # the proxy's line is one line; more than this is not read


class _Exec(channel.SSHChannel):
    """``exec true``: its exit status, and what came on stderr (the proxy's line, on a refusal)."""

    name = b"session"

    def __init__(self, probe: "Probe") -> None:
        super().__init__()
        self.probe = probe
        self.stderr = b""
        self.status: int | None = None

    def channelOpen(self, specificData: bytes) -> None:
        self.conn.sendRequest(self, b"exec", common.NS(COMMAND))
        self.conn.sendEOF(self)

    def openFailed(self, reason) -> None:
        if isinstance(reason, error.ConnectionLost):  # not refused: the transport says what happened
            return
        self.probe.fail(f"the proxy refused a session channel ({reason.desc})")

    def extReceived(self, dataType: int, data: bytes) -> None:
        self.stderr = (self.stderr + data)[:STDERR_LIMIT]

    def request_exit_status(self, data: bytes) -> int:
        self.status = struct.unpack(">L", data[:4])[0]
        return 1

    def request_exit_signal(self, data: bytes) -> int:
        name = common.getNS(data)[0].decode("ascii", "replace")
        self.probe.fail(f"`{COMMAND.decode()}` on device {self.probe.device} was killed by signal {name}")
        return 1

    def closed(self) -> None:
        said = self.stderr.decode("utf-8", "replace").strip().splitlines()
        if self.status == 0:
            self.probe.succeed()
        elif said:
            self.probe.fail(said[-1])
        elif self.status is not None:
            self.probe.fail(f"`{COMMAND.decode()}` on device {self.probe.device} exited {self.status}")
        else:
            self.probe.fail("the proxy closed the session without an exit status")


class _Transport(proxy_login.ProxyTransport):
    def __init__(self, probe: "Probe") -> None:
        super().__init__(probe.host_keys, probe.host_keys_dir, probe.fail, self.login)
        self.probe = probe

    def login(self) -> proxy_login.OneKeyAuth:
        probe = self.probe
        channel = proxy_login.OneChannel(_Exec(probe))
        return proxy_login.OneKeyAuth(probe.login.encode(), probe.key, self.key_refused, channel)

    def key_refused(self) -> None:
        self.probe.fail(f"the proxy refused the probe's key for {self.probe.login}")

    def receiveError(self, reasonCode: int, description: bytes) -> None:
        """The proxy's disconnect message says why (e.g. no login within the grace time)."""
        self.probe.fail(f"the proxy disconnected: {description.decode('utf-8', 'replace')}")

    def connectionLost(self, reason=None) -> None:
        super().connectionLost(reason)
        self.probe.fail("the proxy closed the connection before the session ended")


class Probe:
    """One probe run: ``result`` fires with None, or fails with a ServiceError saying why."""

    def __init__(self, args: argparse.Namespace, key) -> None:
        self.proxy_host, self.proxy_port = args.proxy
        self.device = args.device
        self.login = f"{args.user}+{args.device}"
        self.key = key
        self.host_keys_dir = args.proxy_host_keys
        self.host_keys = proxy_login.known_host_keys(args.proxy_host_keys)
        self.result: defer.Deferred = defer.Deferred()
        self.transport: _Transport | None = None

    def succeed(self) -> None:
        self._settle(None)

    def fail(self, problem: str) -> None:
        """Fail with ``problem``, which may quote the proxy or the device (its stderr line, its
        disconnect text): escaped and bounded, as an external monitor reads it raw."""
        self._settle(ServiceError(log.printable(problem)))

    def _settle(self, outcome: ServiceError | None) -> None:
        if self.result.called:
            return
        if self.transport is not None and self.transport.transport.connected:
            self.transport.transport.loseConnection()
        if outcome is None:
            self.result.callback(None)
        else:
            self.result.errback(outcome)

    async def run(self, reactor, timeout: float) -> None:
        where = f"{self.proxy_host}:{self.proxy_port}"
        timer = reactor.callLater(
            timeout, lambda: self.fail(f"no session through {where} within {timeout:g}s")
        )
        try:
            self.transport = await proxy_login.connect(
                reactor, self.proxy_host, self.proxy_port, timeout, lambda: _Transport(self)
            )
            await self.result
        finally:
            if timer.active():
                timer.cancel()


def read_key(path: str):
    key = sshkeys.read_private_key(Path(path))
    if key.type() == "RSA":
        raise ServiceError(
            f"{path}: the probe's key must be Ed25519 or ECDSA (Conch signs RSA logins with SHA-1)"
        )
    return key


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.ssh_probe", description=__doc__.split("\n")[0])
    parser.add_argument("--proxy", type=arguments.address, required=True, help="the SSH proxy, HOST:PORT")
    parser.add_argument("--user", required=True, help="the probe's user in the registry")
    parser.add_argument("--key", required=True, help="the probe user's private key (Ed25519 or ECDSA)")
    parser.add_argument("--device", required=True, help="the canary device's UUID, granted to the user")
    parser.add_argument("--proxy-host-keys", required=True, help="the proxy's host-keys directory (*.pub)")
    parser.add_argument(
        "--timeout", type=arguments.seconds, default=10.0, help="seconds for the whole session (default 10)"
    )
    return parser.parse_args(argv)


async def probe(reactor, args: argparse.Namespace) -> None:
    try:
        await Probe(args, read_key(args.key)).run(reactor, args.timeout)
    except ServiceError as failure:
        raise SystemExit(errors.report(failure, NAME)) from None


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    log.start(NAME)
    task.react(lambda reactor: defer.ensureDeferred(probe(reactor, args)))


if __name__ == "__main__":
    main()
