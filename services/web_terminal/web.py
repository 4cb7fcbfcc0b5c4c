"""The web terminal's HTTP side: the page and its assets, sign-in, the device list, the WebSocket.

Routes: ``/`` the page; ``/terminal.js``, ``/terminal.css`` and ``/assets/`` (xterm.js from
node_modules, as installed by dev/setup) a fixed list of files read at start; ``/healthz`` the
readiness probe; ``POST /api/signin`` (JSON ``{"token": ...}`` in the body: a token never
travels in a URL, so it never lands in a log or the browser's history), ``POST /api/signout``,
``GET /api/devices``; ``/ws?device=UUID`` one terminal.

Anything that changes state or opens a terminal must come from this site's own page: the Origin
header must name the host the request was sent to (or an ``--allowed-origin``), and POSTs must be
JSON, which a cross-site form cannot send.
"""

import io
import json
import math
import urllib.parse
from pathlib import Path

from twisted.logger import Logger
from twisted.web import resource, server
from twisted.web.websocket import WebSocketResource

from services.shared import access_tokens
from services.shared.errors import ServiceError
from services.shared.registry_calls import RegistryCalls
from services.shared.registry_store import NAME
from services.web_terminal.admission import Admission
from services.web_terminal.settings import Settings
from services.web_terminal.signin import COOKIE, SignIn, SignIns
from services.web_terminal.terminal import TerminalSession
from services.web_terminal.throttle import Failures

_log = Logger()
HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
ASSETS = {
    b"": (HERE / "static" / "index.html", b"text/html; charset=utf-8"),
    b"terminal.js": (HERE / "static" / "terminal.js", b"text/javascript; charset=utf-8"),
    b"terminal.css": (HERE / "static" / "terminal.css", b"text/css; charset=utf-8"),
    b"xterm.mjs": (NODE_MODULES / "@xterm/xterm/lib/xterm.mjs", b"text/javascript; charset=utf-8"),
    b"xterm.css": (NODE_MODULES / "@xterm/xterm/css/xterm.css", b"text/css; charset=utf-8"),
    b"addon-fit.mjs": (
        NODE_MODULES / "@xterm/addon-fit/lib/addon-fit.mjs",
        b"text/javascript; charset=utf-8",
    ),
}
HEADERS = {
    b"Content-Security-Policy": b"default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    b"X-Content-Type-Options": b"nosniff",
    b"Referrer-Policy": b"no-referrer",
    b"Cache-Control": b"no-store",
}


class BoundedRequest(server.Request):
    """A request whose body is kept in memory up to a limit; past it, the request is refused.

    Twisted keeps any body, spooling large ones to a temporary file: a browser could fill the
    disk. Here the bytes past the limit are dropped and counted, and ``too_large`` refuses it.
    """

    limit = 4096

    def gotLength(self, length) -> None:
        self.content = io.BytesIO()
        self.received = 0

    def handleContentChunk(self, data: bytes) -> None:
        self.received += len(data)
        if self.received <= self.limit:
            self.content.write(data)

    @property
    def too_large(self) -> bool:
        return self.received > self.limit

    def process(self) -> None:
        for name, value in HEADERS.items():
            self.setHeader(name, value)
        super().process()


def _json(request, status: int, body: dict) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    return json.dumps(body).encode()


def _text(request, status: int, message: str) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    return (message + "\n").encode()


class Hub:
    """What the routes share: sign-ins, open sessions per user, the registry in a thread."""

    def __init__(self, reactor, settings: Settings, allowed_origins: tuple[str, ...]) -> None:
        self.reactor = reactor
        self.settings = settings
        self.allowed_origins = allowed_origins
        limits = settings.limits
        self.sign_ins = SignIns(limits.sign_ins_per_user, limits.sign_in_lifetime)
        self.failures = Failures(
            limits.failed_sign_ins, limits.sign_in_failure_period, limits.failing_addresses
        )  # failed sign-ins by client address
        self.open: dict[str, int] = {}  # user -> terminals open
        self.registry = RegistryCalls(settings.registry).call

    def same_origin(self, request) -> bool:
        origin = request.getHeader(b"Origin")
        host = request.getHeader(b"Host")
        if origin is None or host is None:
            return False
        origin = origin.decode("latin-1")
        if origin in self.allowed_origins:
            return True
        scheme = "https" if request.isSecure() else "http"
        return origin == f"{scheme}://{host.decode('latin-1')}"

    def signed_in(self, request) -> SignIn | None:
        return self.sign_ins.find(request.getCookie(COOKIE))

    def current(self, entry: SignIn):
        """A Deferred: whether the user's token is still the one the sign-in checked."""
        d = self.registry(lambda store: store.token_digest(entry.user))
        return d.addCallback(lambda digest: SignIns.still_valid(entry, digest))

    def check_sign_in(self, session: TerminalSession):
        def checked(valid: bool) -> None:
            if session.closed:
                return
            if valid:
                session.authorised()
            else:
                session.fail("your token was revoked or replaced: sign in again")

        return self.current(session.sign_in).addCallback(checked)

    def session_started(self, session: TerminalSession) -> None:
        self.open[session.user] = self.open.get(session.user, 0) + 1

    def session_ended(self, session: TerminalSession) -> None:
        self.open[session.user] -= 1
        if not self.open[session.user]:
            del self.open[session.user]


class Asset(resource.Resource):
    isLeaf = True

    def __init__(self, body: bytes, content_type: bytes) -> None:
        super().__init__()
        self.body = body
        self.content_type = content_type

    def render_GET(self, request) -> bytes:
        request.setHeader(b"Content-Type", self.content_type)
        return self.body


class Health(resource.Resource):
    isLeaf = True

    def render_GET(self, request) -> bytes:
        return _text(request, 200, "ok")


class _Routed(resource.Resource):
    """A leaf resource working on the hub's shared state."""

    isLeaf = True

    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self.hub = hub


class Api(_Routed):
    """``/api/signin``, ``/api/signout`` and ``/api/devices``."""

    def render_POST(self, request):
        if not self.hub.same_origin(request):
            return _json(request, 403, {"error": "request not from this site's page"})
        if request.getHeader(b"Content-Type") != b"application/json":
            return _json(request, 415, {"error": "send JSON"})
        if request.too_large:
            return _json(request, 413, {"error": "request too large"})
        if request.postpath == [b"signout"]:
            self.hub.sign_ins.forget(request.getCookie(COOKIE))
            request.addCookie(COOKIE, b"", path=b"/", max_age=b"0", httpOnly=True, sameSite="strict")
            return _json(request, 200, {})
        if request.postpath != [b"signin"]:
            return _json(request, 404, {"error": "no such call"})
        address = request.getClientAddress().host
        wait = self.hub.failures.wait(address)
        if wait:
            request.setHeader(b"Retry-After", str(math.ceil(wait)).encode())
            too_many = "too many failed sign-ins from this address: try again later"
            return _json(request, 429, {"error": too_many})
        try:
            token = json.loads(request.content.getvalue())["token"]
        except (ValueError, KeyError, TypeError):
            token = None
        parts = access_tokens.split(token) if isinstance(token, str) else None
        if parts is None:
            self.hub.failures.failed(address)
            return _json(request, 401, {"error": "that is not a web terminal token"})
        user, secret = parts
        self.hub.registry(lambda store: store.token_digest(user)).addCallbacks(
            lambda digest: self._signed_in(request, user, secret, digest),
            lambda failure: self._registry_failed(request, failure),
        )
        return server.NOT_DONE_YET

    def _signed_in(self, request, user: str, secret: str, digest: str | None) -> None:
        if not access_tokens.matches(secret, digest):
            self.hub.failures.failed(request.getClientAddress().host)
            _log.info("sign-in refused for {user}", user=user)
            self._finish(request, _json(request, 401, {"error": "token not recognised"}))
            return
        cookie = self.hub.sign_ins.add(user, digest)
        lifetime = int(self.hub.settings.limits.sign_in_lifetime)
        request.addCookie(
            COOKIE, cookie.encode(), path=b"/", max_age=str(lifetime), httpOnly=True,
            sameSite="strict", secure=request.isSecure() or None,
        )  # fmt: skip
        self._finish(request, _json(request, 200, {"user": user}))

    def render_GET(self, request):
        if request.postpath != [b"devices"]:
            return _json(request, 404, {"error": "no such call"})
        entry = self.hub.signed_in(request)
        if entry is None:
            return _json(request, 401, {"error": "not signed in"})

        def listed(valid: bool):
            if not valid:
                return _json(request, 401, {"error": "not signed in"})
            d = self.hub.registry(lambda store: store.granted_devices(entry.user))
            return d.addCallback(
                lambda devices: _json(request, 200, {"user": entry.user, "devices": list(devices)})
            )

        d = self.hub.current(entry).addCallback(listed)
        d.addCallbacks(
            lambda body: self._finish(request, body), lambda failure: self._registry_failed(request, failure)
        )
        return server.NOT_DONE_YET

    def _registry_failed(self, request, failure) -> None:
        message = failure.value.message if isinstance(failure.value, ServiceError) else "unexpected error"
        _log.error("registry lookup failed: {message}", message=message)
        self._finish(request, _json(request, 503, {"error": "the registry cannot be read"}))

    @staticmethod
    def _finish(request, body: bytes) -> None:
        if request.channel is not None:  # the browser is still there
            request.write(body)
            request.finish()


class _Checked:
    """The WebSocketServerFactory for one request that passed the checks: its session."""

    def __init__(self, hub: Hub, sign_in: SignIn, device: str) -> None:
        self.hub, self.sign_in, self.device = hub, sign_in, device

    def buildProtocol(self, request) -> TerminalSession:
        hub = self.hub
        session = TerminalSession(hub.reactor, hub.settings, hub, self.sign_in, self.device, request.channel)
        hub.session_started(session)
        return session


class Terminals(_Routed):
    """``/ws?device=UUID``: the checks that need no registry, then Twisted's WebSocket upgrade."""

    def render_GET(self, request):
        hub = self.hub
        if not hub.same_origin(request):
            return _text(request, 403, "WebSocket refused: not opened by this site's page")
        entry = hub.signed_in(request)
        if entry is None:
            return _text(request, 401, "not signed in")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.uri.decode("ascii", "replace")).query)
        device = query.get("device", [""])[0]
        if not NAME.fullmatch(device):
            return _text(request, 400, "no valid device named (?device=UUID)")
        limit = hub.settings.limits.sessions_per_user
        if hub.open.get(entry.user, 0) >= limit:
            return _text(request, 429, f"at most {limit} terminals per user are open: close one first")
        return WebSocketResource(_Checked(hub, entry, device)).render(request)


def load_assets() -> dict[bytes, Asset]:
    """The page's files; ServiceError naming what is missing (xterm.js comes from npm: dev/setup)."""
    found = {}
    for name, (path, content_type) in ASSETS.items():
        try:
            found[name] = Asset(path.read_bytes(), content_type)
        except OSError as error:
            hint = (
                " (run dev/setup: it installs xterm.js with npm ci)" if NODE_MODULES in path.parents else ""
            )
            raise ServiceError(f"{path}: {error.strerror}{hint}") from None
    return found


def site(reactor, settings: Settings, allowed_origins: tuple[str, ...]) -> Admission:
    hub = Hub(reactor, settings, allowed_origins)
    root = resource.Resource()
    assets = resource.Resource()
    for name, asset in load_assets().items():
        (assets if name.endswith(b".mjs") or name == b"xterm.css" else root).putChild(name, asset)
    root.putChild(b"assets", assets)
    root.putChild(b"healthz", Health())
    root.putChild(b"api", Api(hub))
    root.putChild(b"ws", Terminals(hub))

    class Request(BoundedRequest):
        limit = settings.limits.request_body_bytes

    factory = server.Site(root)
    factory.requestFactory = Request
    return Admission(reactor, factory, settings.limits.connections, settings.limits.connections_per_address)
