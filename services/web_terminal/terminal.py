"""One browser terminal: the WebSocket between xterm.js and a shell reached through the proxy.

Messages (the page, ``static/terminal.js``, speaks the other side):
- browser -> here: binary = keystrokes and pastes (UTF-8, as typed); text = JSON
  ``{"size": [cols, rows]}`` (first, then on every resize) or ``{"ack": N}`` (N more bytes
  written by xterm.js).
- here -> browser: binary = the terminal's output, raw bytes (xterm.js decodes UTF-8); text =
  JSON ``{"exit": "exit status 0"}`` when the shell ends, ``{"error": "..."}`` when the session
  fails (the proxy's own line reaches the terminal as output first).

The browser is untrusted: every message and buffer is bounded (``settings.Limits``), idle
sessions are closed, and a browser that stops answering pings is dropped. Output waits in the
SSH window, not in memory, when the browser falls behind: above the high-water mark of unacked
bytes, or while the socket to the browser is full (this object is its push producer).
"""

import json

from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from zope.interface import implementer

from services.web_terminal.proxy_client import ProxyClient
from services.web_terminal.settings import Settings
from services.web_terminal.signin import SignIn

_log = Logger()
MAX_COLS_ROWS = (1000, 500)
CLOSE_NORMAL, CLOSE_POLICY = 1000, 1008


def _parse_size(value) -> tuple[int, int] | None:
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        return None
    cols, rows = value
    if not (1 <= cols <= MAX_COLS_ROWS[0] and 1 <= rows <= MAX_COLS_ROWS[1]):
        return None
    return cols, rows


@implementer(IPushProducer)
class TerminalSession:
    """The WebSocket protocol for one terminal; ``hub`` counts sessions and checks the sign-in."""

    def __init__(self, reactor, settings: Settings, hub, sign_in: SignIn, device: str, channel) -> None:
        self.reactor = reactor
        self.settings = settings
        self.limits = settings.limits
        self.hub = hub
        self.sign_in = sign_in
        self.user = sign_in.user
        self.device = device
        self.http_channel = channel  # the request's HTTPChannel: its socket carries the WebSocket
        self.proxy = ProxyClient(reactor, settings, self.user, device, self)
        self.ws = None
        self.size: tuple[int, int] | None = None  # the page's first size message, once it came
        self.signed_in = False  # the hub found the token still current
        self.unacked = 0
        self.paused = False  # the socket to the browser is full
        self.pending = 0  # bytes received since the last complete message
        self.pongs_missed = 0
        self.started = False
        self.closed = False
        self.timers: dict[str, object] = {}

    # -- WebSocketProtocol

    def negotiationStarted(self, transport) -> None:
        self.ws = transport

    def negotiationFinished(self) -> None:
        # Twisted's WebSocket buffers a message until it is complete, with no limit: count what
        # arrives on the socket between complete messages and drop a browser that sends too much.
        deliver = self.http_channel.dataReceived
        self.http_channel.dataReceived = lambda data: self._bounded(deliver, data)
        # The HTTP channel's own timeout is reset only by the dataReceived replaced at the
        # upgrade, so it would cut every session after the site's timeout: the idle timer rules.
        self.http_channel.setTimeout(None)
        # The HTTP channel stays the socket's producer after the upgrade (so the WebSocket
        # transport's attachProducer fails): register with it, as a response body would.
        self.http_channel.registerProducer(self, True)
        self._every("ping", self.limits.ping_interval, self._ping)
        self._after(
            "first-size", self.limits.first_size_timeout, lambda: self.fail("the page sent no terminal size")
        )
        self._touch()
        self.hub.check_sign_in(self).addErrback(self._unexpected)

    def textMessageReceived(self, message: str) -> None:
        self.pending = 0
        try:
            parsed = json.loads(message) if len(message) <= 256 else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            self.fail("the page sent a malformed control message", CLOSE_POLICY)
            return
        if "ack" in parsed and type(parsed["ack"]) is int and parsed["ack"] >= 0:
            self.unacked = max(0, self.unacked - parsed["ack"])
            self._flow()
        elif "size" in parsed and (size := _parse_size(parsed["size"])) is not None:
            self._touch()
            self._resize(size)
        else:
            self.fail("the page sent a malformed control message", CLOSE_POLICY)

    def bytesMessageReceived(self, data: bytes) -> None:
        self.pending = 0
        if not self.started:
            return  # nothing to type into before the terminal has a size
        self._touch()
        if self.proxy.buffered() + len(data) > self.limits.input_buffer_bytes:
            self.fail("input arrives faster than the device reads it: session closed", CLOSE_POLICY)
            return
        self.proxy.write(bytes(data))

    def pongReceived(self, payload: bytes) -> None:
        self.pongs_missed = 0

    def connectionLost(self, reason) -> None:
        self.closed = True
        for timer in self.timers.values():
            if timer.active():
                timer.cancel()
        self.proxy.close()
        self.hub.session_ended(self)

    # -- IPushProducer: the socket to the browser

    def pauseProducing(self) -> None:
        """The socket to the browser is full: hold the device, and stop reading the browser too.

        Twisted answers each of its pings with a pong, and after the upgrade nothing else stops
        reading a browser that does not read: its pongs would pile up in memory.
        """
        self.paused = True
        self.http_channel.transport.pauseProducing()
        self._flow()

    def resumeProducing(self) -> None:
        self.paused = False
        self.http_channel.transport.resumeProducing()
        self._flow()

    def stopProducing(self) -> None:
        """The socket to the browser is gone."""
        self.closed = True
        self.proxy.close()

    # -- proxy_client.Sink

    def output(self, data: bytes) -> None:
        if self.closed:
            return
        self.ws.sendBytesMessage(data)
        self.unacked += len(data)
        self._flow()

    def exited(self, description: str) -> None:
        self._send({"exit": description})

    def ended(self, problem: str | None) -> None:
        if problem is not None:
            self._send({"error": problem})
        self._close(CLOSE_NORMAL)

    # -- the session's life

    def authorised(self) -> None:
        """The hub found the sign-in valid: dial once the page has said how big the terminal is."""
        self.signed_in = True
        if self.size is not None:
            self._start()

    def fail(self, problem: str, code: int = CLOSE_NORMAL) -> None:
        self._send({"error": problem})
        self.proxy.done = True  # no second report from the proxy's side
        self.proxy.close()
        self._close(code)

    def _resize(self, size: tuple[int, int]) -> None:
        if self.started:
            if self.proxy.is_open:
                self.proxy.shell.resize(*size)
            else:
                self.proxy.shell.size = size
            return
        self.size = size
        self._cancel("first-size")
        if self.signed_in:
            self._start()

    def _start(self) -> None:
        self.started = True
        defer.ensureDeferred(self.proxy.start(self.size)).addErrback(self._unexpected)

    def _flow(self) -> None:
        shell = self.proxy.shell
        if shell is None:
            return
        if self.paused or self.unacked > self.limits.high_water:
            shell.hold()
        elif self.unacked <= self.limits.low_water:
            shell.release()

    def _bounded(self, deliver, data: bytes) -> None:
        self.pending += len(data)
        if self.pending > self.limits.message_bytes + 1024:  # a message and its frame headers
            _log.warn(
                "session of {user}: a message over {limit} bytes, dropped",
                user=self.user,
                limit=self.limits.message_bytes,
            )
            self.http_channel.transport.abortConnection()
            return
        deliver(data)

    def _ping(self) -> None:
        self.pongs_missed += 1
        if self.pongs_missed > 2:
            self.fail("the browser stopped answering pings")
            return
        self.ws.ping(b"keep-alive")

    def _touch(self) -> None:
        idle = self.limits.idle_timeout
        self._after("idle", idle, lambda: self.fail(f"no input for {idle:g}s: session closed"))

    def _send(self, message: dict) -> None:
        if not self.closed and self.ws is not None:
            self.ws.sendTextMessage(json.dumps(message))

    def _close(self, code: int) -> None:
        if not self.closed and self.ws is not None:
            self.closed = True
            self.ws.loseConnection(code)

    def _after(self, name: str, seconds: float, action) -> None:
        self._cancel(name)
        self.timers[name] = self.reactor.callLater(seconds, action)

    def _every(self, name: str, seconds: float, action) -> None:
        def tick() -> None:
            action()
            if not self.closed:
                self.timers[name] = self.reactor.callLater(seconds, tick)

        self.timers[name] = self.reactor.callLater(seconds, tick)

    def _cancel(self, name: str) -> None:
        timer = self.timers.pop(name, None)
        if timer is not None and timer.active():
            timer.cancel()

    def _unexpected(self, failure) -> None:
        _log.failure("web terminal session of {user} failed unexpectedly", failure, user=self.user)
        self.fail("the web terminal failed unexpectedly (see its log)")
