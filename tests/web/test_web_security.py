"""What a hostile browser or page meets: origin and cookie checks, limits, idle and flow control.

These speak HTTP and WebSocket from Python (``wsclient``) to send what the page never would.
"""

import os
import shutil
import subprocess
import sys
import time

import attrs
import pytest

from examples.demo.stack import ROOT, stop_process, wait_until
from tests.helpers.net import free_port
from tests.helpers.services import keygen
from tests.helpers.wsclient import Client, Refused
from tests.web.conftest import serves, start_web_terminal


def origin(web) -> str:
    return f"http://127.0.0.1:{web.port}"


def cookie_of(web) -> str:
    status, headers, body = web.request("POST", "/api/signin", {"token": web.token}, Origin=origin(web))
    assert status == 200, body
    return headers["Set-Cookie"].split(";")[0]


def refused(web, **kwargs) -> int:
    with pytest.raises(Refused) as refusal:
        Client(web.port, kwargs.pop("device", web.device.uuid), **kwargs)
    return refusal.value.status


def shell(web, cookie: str) -> Client:
    """A terminal on the granted device, its prompt received."""
    client = Client(web.port, web.device.uuid, cookie, origin(web))
    client.send_json({"size": [80, 24]})
    client.read_until(lambda: b"$ " in client.output or b"# " in client.output, 15)
    return client


def test_sign_in_takes_a_json_token_from_this_site_only(web):
    token = {"token": web.token}
    assert web.request("POST", "/api/signin", token)[0] == 403  # no Origin
    assert web.request("POST", "/api/signin", token, Origin="http://evil.example")[0] == 403
    status, _, _ = web.request(
        "POST", "/api/signin", None, Origin=origin(web), **{"Content-Type": "text/plain"}
    )
    assert status == 415
    assert web.request("POST", "/api/signin", {"token": "x" * 5000}, Origin=origin(web))[0] == 413
    assert web.request("POST", "/api/signin", {"token": "alice:wrong"}, Origin=origin(web))[:1] == (401,)

    status, headers, body = web.request("POST", "/api/signin", token, Origin=origin(web))
    assert (status, body) == (200, '{"user": "alice"}')
    attributes = [part.strip() for part in headers["Set-Cookie"].split(";")]
    assert {"httponly", "samesite=strict", "path=/"} <= {a.lower() for a in attributes}
    assert web.token.split(":")[1] not in str(headers)

    cookie = attributes[0]
    assert web.request("GET", "/api/devices")[0] == 401
    status, _, body = web.request("GET", "/api/devices", Cookie=cookie)
    assert (status, body) == (200, f'{{"user": "alice", "devices": ["{web.device.uuid}"]}}')
    _, page_headers, _ = web.request("GET", "/")
    assert "frame-ancestors 'none'" in page_headers["Content-Security-Policy"]
    assert page_headers["X-Content-Type-Options"] == "nosniff"

    assert web.request("POST", "/api/signout", {}, Origin=origin(web), Cookie=cookie)[0] == 200
    assert web.request("GET", "/api/devices", Cookie=cookie)[0] == 401


def test_websocket_checks_origin_cookie_device_and_sessions_per_user(web):
    cookie = cookie_of(web)
    assert refused(web, cookie=cookie, origin="http://evil.example") == 403
    assert refused(web, cookie=cookie, origin=None) == 403
    assert refused(web, cookie=None, origin=origin(web)) == 401
    assert refused(web, cookie="web_terminal_session=forged", origin=origin(web)) == 401
    assert refused(web, cookie=cookie, origin=origin(web), device="a+b@c") == 400

    first, second = shell(web, cookie), shell(web, cookie)  # --max-sessions 2
    assert refused(web, cookie=cookie, origin=origin(web)) == 429
    first.close()

    def accepted() -> bool:
        try:
            Client(web.port, web.device.uuid, cookie, origin(web)).close()
            return True
        except Refused:
            return False

    wait_until(accepted, timeout=10, what="a session slot freed by the closed one")
    second.close()


def test_a_revoked_token_ends_the_sign_in(web):
    cookie = cookie_of(web)
    web.stack.registry("revoke-token", "alice")
    assert web.request("GET", "/api/devices", Cookie=cookie)[0] == 401
    client = Client(web.port, web.device.uuid, cookie, origin(web))  # the check follows the upgrade
    client.read_until(lambda: client.closed, 10)
    assert client.controls == [{"error": "your token was revoked or replaced: sign in again"}]
    assert client.output == b""


@pytest.mark.parametrize("web_options", [("--idle-timeout", "1")])
def test_an_idle_session_is_closed(web):
    client = shell(web, cookie_of(web))
    start = time.monotonic()
    client.read_until(lambda: client.closed, 10)
    assert client.controls == [{"error": "no input for 1s: session closed"}]
    assert time.monotonic() - start < 5


def test_an_oversized_message_drops_only_its_connection(web):
    cookie = cookie_of(web)
    kept = shell(web, cookie)
    flood = Client(web.port, web.device.uuid, cookie, origin(web))
    flood.send_json({"size": [80, 24]})
    try:
        flood.send_bytes(b"x" * 200_000)  # the limit is 64 KiB
    except (BrokenPipeError, ConnectionResetError):
        pass
    flood.read_until(lambda: flood.closed, 10)
    kept.send_bytes(b"echo still-$((20+3))\r")
    kept.read_until(lambda: b"still-23" in kept.output, 10)
    assert serves(web.port)


def test_output_waits_for_the_browser_to_acknowledge_it(web):
    """Without acks, the device is held after about high-water + one SSH window of output."""
    client = shell(web, cookie_of(web))
    client.send_bytes(b"yes | head -c 50000000\r")
    client.read_until(lambda: len(client.output) > 256 * 1024, 20)
    for _ in range(20):  # until it stops: nothing more for 1.5 s (a loaded machine is slow to fill it)
        held = len(client.output)
        client.read(1.5)
        if len(client.output) == held:
            break
    assert 256 * 1024 < held < 1024 * 1024, held
    acked, deadline = 0, time.monotonic() + 20
    while len(client.output) <= held + 256 * 1024 and time.monotonic() < deadline:
        client.send_json({"ack": len(client.output) - acked})  # as the page does: what it has written
        acked = len(client.output)
        client.read(0.2)
    assert len(client.output) > held + 256 * 1024  # acknowledged, it flows again
    client.close()


@pytest.mark.parametrize("web_options", [("--ping-interval", "0.5")])
def test_pings_keep_answering_sessions_and_drop_silent_ones(web):
    cookie = cookie_of(web)
    answering = shell(web, cookie)
    silent = Client(web.port, web.device.uuid, cookie, origin(web), answer_pings=False)
    silent.send_json({"size": [80, 24]})
    deadline = time.monotonic() + 10
    while not silent.closed and time.monotonic() < deadline:  # both read: one answers, one does not
        silent.read(0.05)
        answering.read(0.05)
    assert silent.controls[-1] == {"error": "the browser stopped answering pings"}
    assert silent.pings >= 2
    answering.read(1)
    answering.send_bytes(b"echo alive-$((1+1))\r")
    answering.read_until(lambda: b"alive-2" in answering.output, 10)
    assert answering.pings >= 3 and not answering.closed


def test_a_proxy_with_another_host_key_is_refused(web, tmp_path):
    other = tmp_path / "other-host-keys"
    other.mkdir()
    keygen(other, "ed25519", "ssh_host_ed25519_key")
    port = free_port()
    process = start_web_terminal(web.stack, web.key, port, "--proxy-host-keys", str(other))
    try:
        wait_until(lambda: serves(port) or process.poll() is not None, timeout=15, what="the web terminal")
        distrustful = attrs.evolve(web, port=port, process=process)
        client = Client(port, web.device.uuid, cookie_of(distrustful), origin(distrustful))
        client.send_json({"size": [80, 24]})
        client.read_until(lambda: client.closed, 15)
        assert client.controls == [{"error": f"the SSH proxy's host key is not one of those in {other}"}]
        assert client.output == b""
    finally:
        stop_process(process)


def test_the_proxys_host_keys_are_read_at_start_and_again_only_when_replaced(web, tmp_path):
    """Each session used to read and parse them again; a rotation (the files replaced) must still
    be seen without a restart."""
    directory = tmp_path / "rotated-host-keys"
    directory.mkdir()
    keygen(directory, "ed25519", "ssh_host_ed25519_key")  # not the proxy's key
    port = free_port()
    process = start_web_terminal(web.stack, web.key, port, "--proxy-host-keys", str(directory))
    rotating = attrs.evolve(web, port=port, process=process)
    try:
        wait_until(lambda: serves(port) or process.poll() is not None, timeout=15, what="the web terminal")
        cookie = cookie_of(rotating)
        for _ in range(2):
            distrusted = Client(port, web.device.uuid, cookie, origin(rotating))
            distrusted.send_json({"size": [80, 24]})
            distrusted.read_until(lambda: distrusted.closed, 15)  # noqa: B023 (called in this iteration)
            assert distrusted.controls == [{"error": f"the SSH proxy's host key is not one of those in {directory}"}]
        for public in sorted((web.stack.tmp / "host-keys").glob("*.pub")):  # as an operator rotates
            staged = directory / f"{public.name}.new"
            shutil.copyfile(public, staged)
            os.replace(staged, directory / public.name)
        for _ in range(2):
            shell(rotating, cookie).close()
    finally:
        stderr = rotating.stop()
    changed = [line for line in stderr.splitlines() if "host keys in" in line]
    assert len(changed) == 1, stderr  # read again once, after the rotation: not at every session
    assert changed[0].endswith(f"the SSH proxy's host keys in {directory} changed: 2 accepted now"), stderr


def test_an_unregistered_web_terminal_key_is_named(web):
    web.stack.registry("remove-delegate", "web-terminal")
    client = Client(web.port, web.device.uuid, cookie_of(web), origin(web))
    client.send_json({"size": [80, 24]})
    client.read_until(lambda: client.closed, 15)
    assert client.controls == [
        {
            "error": "the proxy refused the web terminal's key: register its public key with "
            "`python -m services.registry add-delegate web-terminal --key KEY.pub`"
        }
    ]


def test_bad_command_lines_are_one_line(tmp_path, web):
    """A missing key or host-keys directory: one stderr line, exit status 1, nothing served."""
    base = [
        sys.executable,
        "-m",
        "services.web_terminal",
        "--proxy",
        "127.0.0.1:1",
        "--listen",
        "127.0.0.1:0",
    ]
    base += ["--registry", str(web.stack.db)]
    missing_key = subprocess.run(
        [*base, "--key", str(tmp_path / "absent"), "--proxy-host-keys", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert missing_key.returncode == 1 and missing_key.stderr.count("\n") == 1
    assert missing_key.stderr.startswith(
        f"web_terminal: {tmp_path / 'absent'}: no such key (make it with `ssh-keygen"
    )
    rsa = tmp_path / "rsa_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-N", "", "-f", str(rsa)], check=True, timeout=30)
    rsa_key = subprocess.run(
        [*base, "--key", str(rsa), "--proxy-host-keys", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert rsa_key.returncode == 1 and "must be Ed25519 or ECDSA" in rsa_key.stderr
    ed25519 = tmp_path / "ed_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ed25519)], check=True, timeout=30
    )
    no_host_keys = subprocess.run(
        [*base, "--key", str(ed25519), "--proxy-host-keys", str(tmp_path / "none")],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert (no_host_keys.returncode, no_host_keys.stderr) == (
        1,
        f"web_terminal: no host keys of the proxy in {tmp_path / 'none'} (*.pub)\n",
    )
