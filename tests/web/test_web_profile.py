"""Profile ``web`` of ``graphs/device-proxy.toml`` under the real supervisor: the web terminal serves.

Set up as the demo does (``examples/demo/stack.py``): the web terminal becomes ready by the
graph's http probe on /healthz, and a browser reaches a device through it and the two proxy
replicas. The demo's own ``--profile web`` path prints the URL and a token that signs in.
"""

import os
import subprocess
import sys
from pathlib import Path

from examples.demo.stack import ROOT, Stack
from tests.helpers.deployed import Deployed
from tests.helpers.net import free_port
from tests.helpers.services import keygen
from tests.web.conftest import serves, wait_for_screen
from tests.web.test_web_terminal import PROMPT


def test_profile_web_serves_a_browser_terminal(tmp_path, sshd_device, supervisor, browser):
    stack = Stack(tmp_path / "stack", free_port(), free_port())
    identity = stack.identity("ed25519")
    user_key, _ = keygen(tmp_path, "ed25519", "alice")
    stack.fresh_registry()
    stack.add_user("alice", Path(f"{user_key}.pub"))
    sshd = sshd_device([identity])
    (tmp_path / "device.pub").write_text(sshd.host_key + "\n")
    stack.add_device("device1", sshd.port, sshd.login, tmp_path / "device.pub", users=("alice",))
    stack.add_canary(sshd.port, sshd.login, tmp_path / "device.pub")  # what proves device-ssh
    token = stack.enable_web_terminal("alice")

    deployed = Deployed.start(stack, "web", ["web-terminal"], supervisor)
    ready = deployed.run.events("web-terminal", "ready")[0]
    assert ready["message"] == "http http://127.0.0.1:${WEB_PORT:-8080}/healthz"
    assert serves(stack.web_port)

    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(stack.web_url)
        page.fill("#token", token)
        page.click("button[type=submit]")
        page.click("#device-list a:text-is('device1')")
        wait_for_screen(page, PROMPT, timeout=30)
        page.keyboard.type("echo via-$((40+2)); tty\n")
        assert "\nvia-42\n/dev/pts/" in wait_for_screen(page, "/dev/pts/", timeout=30)
    finally:
        context.close()
    assert deployed.run.stop(30) == 0
    audit = deployed.audit()
    assert [(a["user"], a["device"], a["via"]) for a in audit] == [("alice", "device1", "web-terminal")]


def test_demo_prints_the_url_and_a_token_that_signs_in(tmp_path):
    env = {
        **os.environ,
        "DEMO_DIR": str(tmp_path / "demo"),
        "PROXY_PORT": str(free_port()),
        "DEVICE_PORT": str(free_port()),
        "WEB_PORT": str(free_port()),
    }
    demo = subprocess.run(
        [sys.executable, "examples/demo/demo.py", "--once", "--profile", "web"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert (
        f"Web terminal: open http://127.0.0.1:{env['WEB_PORT']}/ and sign in with this token:\n  demo:"
        in demo.stdout
    )
    assert "signed in as demo: devices ['7d3f1c2a9b8e4f6a8c1d2e3f4a5b6c7d']" in demo.stdout
