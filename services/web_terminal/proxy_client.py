"""One browser terminal's SSH session through the device proxy, with Twisted Conch's client.

The web terminal logs in to the proxy as ``USER+UUID`` with its own key, a delegate in the
registry (as :mod:`services.shared.proxy_login` says): the proxy checks the user's grant, reaches
the device with the shared agent's keys and records ``"via"`` in its audit line.

Flow control towards the browser: the channel's window is re-opened only while the browser keeps
up (``hold``/``release``), so a device printing faster than xterm.js parses waits in the SSH
window instead of filling the web terminal's memory or the browser's.
"""

import struct
import typing

from twisted.conch.ssh import channel, common, session

from services.shared import proxy_login
from services.shared.errors import ServiceError
from services.web_terminal.settings import Settings

TERM = b"xterm-256color"
# xterm.js speaks UTF-8 only: say so as OpenSSH's client does (SendEnv LANG), so a device whose
# sshd accepts it (Debian's default AcceptEnv LANG LC_*) edits lines in UTF-8, not byte by byte.
LANG = b"C.UTF-8"
# The pty's modes: only UTF-8 input (IUTF8, opcode 42), so the device's line editing erases a
# whole multi-byte character; the rest are the device's defaults.
PTY_MODES = struct.pack(">BL", 42, 1) + b"\x00"


class Sink(typing.Protocol):
    """Where the session reports: the browser's side (``terminal.TerminalSession``)."""

    def output(self, data: bytes) -> None: ...
    def exited(self, description: str) -> None: ...  # "exit status 0", "signal TERM"
    def ended(self, problem: str | None) -> None: ...  # closed; with a reason if it failed


class _Connection(proxy_login.OneChannel):
    def adjustWindow(self, channel, bytesToAdd) -> None:
        """Re-open the window only while the browser keeps up (see ``ShellChannel.release``)."""
        if not channel.held:
            super().adjustWindow(channel, bytesToAdd)


class ShellChannel(channel.SSHChannel):
    """The session channel: pty-req with the browser's size, then a shell."""

    name = b"session"

    def __init__(self, client: "ProxyClient", size: tuple[int, int], window: int) -> None:
        super().__init__(localWindow=window)
        self.client = client
        self.size = size
        self.held = False
        self.close_received = False

    def channelOpen(self, specificData: bytes) -> None:
        cols, rows = self.size
        pty = session.packRequest_pty_req(TERM, (rows, cols, 0, 0), PTY_MODES)
        self.conn.sendRequest(self, b"pty-req", pty)
        self.conn.sendRequest(self, b"env", common.NS(b"LANG") + common.NS(LANG))
        self.conn.sendRequest(self, b"shell", b"")
        self.client.opened()

    def openFailed(self, reason) -> None:
        self.client.fail(f"the proxy refused a session channel ({reason.desc})")

    def resize(self, cols: int, rows: int) -> None:
        self.conn.sendRequest(self, b"window-change", session.packRequest_window_change((rows, cols, 0, 0)))

    def dataReceived(self, data: bytes) -> None:
        self.client.sink.output(data)

    def extReceived(self, dataType: int, data: bytes) -> None:
        self.client.sink.output(data)  # stderr: the proxy's error lines come this way

    def request_exit_status(self, data: bytes) -> int:
        self.client.sink.exited(f"exit status {struct.unpack('>L', data[:4])[0]}")
        return 1

    def request_exit_signal(self, data: bytes) -> int:
        name = common.getNS(data)[0].decode("ascii", "replace")
        self.client.sink.exited(f"signal {name}")
        return 1

    def closeReceived(self) -> None:
        self.close_received = True
        super().closeReceived()

    def closed(self) -> None:
        """The shell ended (the proxy closed the channel), or the connection to the proxy was lost."""
        if self.close_received:
            self.client.close()
        else:
            self.client.fail("the connection to the SSH proxy was lost")

    def hold(self) -> None:
        self.held = True

    def release(self) -> None:
        """Open the window again by what the device used while it was held."""
        if not self.held:
            return
        self.held = False
        owed = self.localWindowSize - self.localWindowLeft
        if owed > 0 and not self.localClosed:
            self.conn.adjustWindow(self, owed)


class _ProxyTransport(proxy_login.ProxyTransport):
    def __init__(self, client: "ProxyClient") -> None:
        super().__init__(client.host_keys, client.settings.proxy_host_keys.directory, client.refused, self.login)
        self.client = client

    def login(self) -> proxy_login.OneKeyAuth:
        client = self.client
        login = client.login.encode()
        return proxy_login.OneKeyAuth(login, client.settings.key, self.key_refused, _Connection(client.shell))

    def key_refused(self) -> None:
        self.client.problem = (
            "the proxy refused the web terminal's key: register its public key with "
            "`python -m services.registry add-delegate web-terminal --key KEY.pub`"
        )

    def connectionLost(self, reason=None) -> None:
        super().connectionLost(reason)
        self.client.close()


class ProxyClient:
    """One SSH connection to the proxy carrying one shell on one device."""

    def __init__(self, reactor, settings: Settings, user: str, device: str, sink: Sink) -> None:
        self.reactor = reactor
        self.settings = settings
        self.login = f"{user}+{device}"  # the proxy routes on it: this session is for this device
        self.sink = sink
        self.shell: ShellChannel | None = None
        self.transport: _ProxyTransport | None = None
        self.problem: str | None = None  # why the login failed, once known
        self.is_open = False
        self.done = False
        self.host_keys: set[bytes] = set()
        self._timer = None

    async def start(self, size: tuple[int, int]) -> None:
        """Connect, log in and open the shell; a failure ends the session with its reason."""
        settings = self.settings
        where = f"{settings.proxy_host}:{settings.proxy_port}"
        try:
            self.host_keys = settings.proxy_host_keys.current()
        except ServiceError as failure:
            self.fail(f"the web terminal cannot verify the SSH proxy: {failure.message}")
            return
        self.shell = ShellChannel(self, size, settings.limits.channel_window)
        try:
            self.transport = await proxy_login.connect(
                self.reactor,
                settings.proxy_host,
                settings.proxy_port,
                settings.connect_timeout,
                lambda: _ProxyTransport(self),
            )
        except ServiceError as failure:
            self.fail(f"the web terminal {failure.message}")
            return
        if self.done:  # the browser left meanwhile
            self.transport.transport.loseConnection()
            return
        self._timer = self.reactor.callLater(
            settings.login_timeout,
            lambda: self.fail(
                f"the SSH proxy at {where} did not open a session within {settings.login_timeout:g}s"
            ),
        )

    def opened(self) -> None:
        self.is_open = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()

    def refused(self, problem: str) -> None:
        """Why the login cannot succeed; the session ends when the connection does."""
        self.problem = problem

    def fail(self, problem: str) -> None:
        if self.problem is None:
            self.problem = problem
        self.close()

    def close(self) -> None:
        """End the session (idempotent): tell the sink once, drop the SSH connection."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        if self.transport is not None and self.transport.transport.connected:
            self.transport.transport.loseConnection()
        if self.done:
            return
        self.done = True
        if not self.is_open and self.problem is None:
            self.problem = "the SSH proxy closed the connection before a session opened"
        self.sink.ended(self.problem)

    def write(self, data: bytes) -> None:
        """Send keystrokes; before the channel opens (no window yet) Conch buffers them."""
        if self.shell is not None:
            self.shell.write(data)

    def buffered(self) -> int:
        """Keystrokes waiting for the device's window."""
        return len(self.shell.buf) if self.shell is not None else 0
