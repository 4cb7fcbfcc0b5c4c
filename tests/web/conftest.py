"""The web terminal for real: a proxy worker, sshd devices, the service, and Debian's chromium.

``web`` builds on the proxy tests' ``stack`` (ssh-agent holding the proxy's identity, a registry
with user ``alice``, one proxy worker on 127.0.0.1) and adds what the web terminal needs: its
delegate key registered, a token for alice, a granted device, and ``python -m
services.web_terminal`` serving on a free port. Chromium is Debian's (/usr/bin/chromium), driven
by Playwright with ``executable_path``: no browser is downloaded. Every wait is bounded.
"""

import http.client
import json
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from examples.demo.stack import ROOT, stop_process, wait_until
from tests.helpers.net import free_port
from tests.helpers.services import keygen
from tests.ssh.conftest import agent, sshd_device  # noqa: F401 (fixtures)
from tests.ssh.proxy_stack import Registered, Stack, stack  # noqa: F401 (fixture)

CHROMIUM = "/usr/bin/chromium"
SCREEN = """() => {
  if (window.webTerminal === undefined) return "";
  const buffer = window.webTerminal.buffer.active;
  const lines = [];
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
  return lines.join("\\n");
}"""


@attrs.define
class WebTerminal:
    stack: Stack
    port: int
    token: str
    device: Registered
    process: subprocess.Popen
    key: Path  # the web terminal's own key, a delegate in the registry

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def sign_in(self, page: Page, token: str | None = None) -> None:
        page.goto(self.url)
        page.fill("#token", token or self.token)
        page.click("button[type=submit]")

    def open(self, page: Page, uuid: str) -> None:
        """Sign in and open a terminal on ``uuid`` from the device list (or by its address)."""
        self.sign_in(page)
        page.wait_for_selector("#devices:not([hidden])", timeout=10_000)
        link = page.locator(f"#device-list a:text-is('{uuid}')")
        if link.count():
            link.click()
        else:
            page.goto(f"{self.url}#{uuid}")
        page.wait_for_function("() => window.webTerminal !== undefined", timeout=10_000)

    def request(self, method: str, path: str, body: dict | None = None, **headers) -> tuple[int, dict, str]:
        """One HTTP request to the service; (status, headers, body text)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            payload = None if body is None else json.dumps(body)
            if payload is not None:
                headers.setdefault("Content-Type", "application/json")
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            connection.close()

    def stop(self) -> str:
        """Stop the service; what it wrote on stderr."""
        stop_process(self.process)
        return self.process.stderr.read()


def screen(page: Page) -> str:
    """The terminal's whole buffer (scrollback and screen) as text."""
    return page.evaluate(SCREEN)


def wait_for_screen(page: Page, text: str, timeout: float = 15) -> str:
    """Wait until ``text`` is in the terminal's buffer; the buffer (AssertionError showing it if not)."""
    try:
        page.wait_for_function(
            f"text => ({SCREEN})().includes(text)", arg=text, timeout=timeout * 1000, polling=50
        )
    except PlaywrightTimeout:
        raise AssertionError(f"{text!r} not on the terminal within {timeout}s:\n{screen(page)}") from None
    return screen(page)


def start_web_terminal(proxy: Stack, key: Path, port: int, *options: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "services.web_terminal", "--proxy", f"127.0.0.1:{proxy.port}"]
    command += ["--listen", f"127.0.0.1:{port}", "--registry", str(proxy.db), "--key", str(key)]
    command += ["--proxy-host-keys", str(proxy.tmp / "host-keys"), *options]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def serves(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


@pytest.fixture
def web_options() -> tuple[str, ...]:
    """Extra command-line options for the web terminal (a test module may override it)."""
    return ("--max-sessions", "2")


@pytest.fixture
def web(stack, tmp_path, web_options) -> WebTerminal:  # noqa: F811 (the fixture imported above)
    key, _ = keygen(tmp_path, "ed25519", "web_terminal_key")
    stack.registry("add-delegate", "web-terminal", "--key", f"{key}.pub")
    result = subprocess.run(
        [sys.executable, "-m", "services.registry", "--db", str(stack.db), "add-token", "alice"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    device = stack.device("dev-granted")
    port = free_port()
    process = start_web_terminal(stack, key, port, *web_options)
    service = WebTerminal(stack, port, result.stdout.strip(), device, process, key)
    try:
        wait_until(lambda: serves(port) or process.poll() is not None, timeout=15, what="the web terminal")
        assert process.poll() is None, process.stderr.read()
        yield service
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, web) -> Page:
    context = browser.new_context(viewport={"width": 1000, "height": 600})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web.url.rstrip("/"))
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
