"""What anyone who can reach the web terminal's port can make it hold, before signing in.

Real HTTP clients (``http.client``) and raw sockets, from several loopback addresses (127.0.0.x:
the whole of 127/8 is this machine), against the real service.
"""

import http.client
import json
import socket

import pytest
from wsproto.events import Ping, TextMessage

from examples.demo.stack import wait_until
from services.web_terminal.throttle import Failures
from tests.helpers.wsclient import Client
from tests.ssh.test_proxy_hostile import peak_rss_mb
from tests.web.test_web_security import cookie_of, origin


def connect(web, source: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", web.port), timeout=5, source_address=(source, 0))


def closed_at_once(sock: socket.socket) -> bool:
    """Whether the service closed ``sock`` without a word (True), or keeps it open to be served."""
    sock.settimeout(1)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def sign_in(web, token: str, source: str = "127.0.0.1") -> tuple[int, dict, dict]:
    """POST /api/signin from ``source``; (status, headers, JSON body)."""
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10, source_address=(source, 0))
    try:
        headers = {"Content-Type": "application/json", "Origin": origin(web)}
        connection.request("POST", "/api/signin", body=json.dumps({"token": token}), headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def healthy(web, source: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=5, source_address=(source, 0))
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@pytest.mark.parametrize("web_options", [("--max-connections", "5", "--max-connections-per-address", "3")])
def test_connections_are_capped_per_address_and_in_all(web):
    """Idle TCP connections were held without limit (Twisted's HTTP timeout is a minute of quiet)."""
    held = [connect(web, "127.0.0.2") for _ in range(3)]
    try:
        assert not any(closed_at_once(sock) for sock in held)
        assert closed_at_once(connect(web, "127.0.0.2"))  # a fourth from that address
        assert healthy(web, "127.0.0.3")  # others are served
        held += [connect(web, "127.0.0.3") for _ in range(2)]
        assert closed_at_once(connect(web, "127.0.0.4"))  # five at once in all
    finally:
        for sock in held:
            sock.close()
    wait_until(lambda: healthy(web, "127.0.0.4"), timeout=10, what="the closed connections' places")


@pytest.mark.parametrize("web_options", [("--max-failed-sign-ins", "3")])
def test_failed_sign_ins_are_rate_limited_per_address(web):
    """Tokens could be tried as fast as the registry answered, from one address."""
    for token in ("alice:wrong", "not a token", "alice:wrong"):  # one refused before any lookup
        assert sign_in(web, token)[0] == 401
    status, headers, body = sign_in(web, web.token)  # even the right token, from that address
    assert status == 429 and int(headers["Retry-After"]) > 0
    assert body == {"error": "too many failed sign-ins from this address: try again later"}
    assert sign_in(web, web.token, source="127.0.0.2")[0] == 200  # another address is not held


def test_failed_sign_ins_are_forgiven_over_time_and_kept_for_a_bounded_number_of_addresses():
    now = [0.0]
    failures = Failures(burst=3, period=60, addresses=2, clock=lambda: now[0])
    for _ in range(3):
        assert failures.wait("a") == 0
        failures.failed("a")
    assert failures.wait("a") == 20  # one more try every 60 / 3 seconds
    now[0] = 20
    assert failures.wait("a") == 0
    failures.failed("b")
    failures.failed("c")  # a third address: the one least recently failing ("a") is forgotten
    assert failures.addresses() == ["b", "c"]


def test_a_browser_that_does_not_read_cannot_make_it_buffer(web):
    """Twisted's WebSocket answers each ping with a pong, and the HTTP channel stops reading a
    client that does not read only between requests (never, once upgraded): a browser sending
    pings and never reading made the web terminal hold every pong."""
    client = Client(web.port, web.device.uuid, cookie_of(web), origin(web))
    ping = client.ws.send(Ping(b"p" * 125))
    ack = client.ws.send(TextMessage('{"ack": 0}'))  # so that the bound on a message is not what ends it
    before = peak_rss_mb(web.process.pid)
    client.sock.settimeout(5)
    sent = 0
    try:
        while sent < 60_000_000:  # stops when the web terminal stops reading (a full socket)
            client.sock.sendall(ping * 100 + ack)
            sent += 100 * len(ping) + len(ack)
    except TimeoutError:
        pass
    finally:
        client.close()
    grown = peak_rss_mb(web.process.pid) - before
    assert grown < 20, f"the web terminal grew by {grown:.0f} MB after {sent / 1e6:.0f} MB of pings"
