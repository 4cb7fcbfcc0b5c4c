"""A person's path through the web terminal, in Debian's chromium: sign in, pick a device, use a shell.

Everything is real: the page and xterm.js in the browser, the web terminal, the proxy worker it
logs in to as a delegate, the ssh-agent and the device's sshd. The terminal's text is read from
xterm.js's own buffer, as a person would read the screen.
"""

import json
import os
import subprocess

from services.ssh_proxy.errors import NO_IDENTITIES
from tests.ssh.proxy_stack import no_access
from tests.web.conftest import SCREEN, wait_for_screen

PROMPT = "# " if os.geteuid() == 0 else "$ "


def settled_size(page) -> list[int]:
    """The terminal's [cols, rows] once the fit add-on has stopped changing them (5 s at most)."""
    size = None
    for _ in range(25):
        page.wait_for_timeout(200)
        now = page.evaluate("() => [window.webTerminal.cols, window.webTerminal.rows]")
        if now == size:
            return size
        size = now
    raise AssertionError(f"the terminal's size kept changing: last {size}")


def test_a_shell_on_a_granted_device(web, page):
    web.sign_in(page)
    page.wait_for_selector(f"#device-list a:text-is('{web.device.uuid}')").click()
    page.wait_for_function("() => window.webTerminal !== undefined")
    wait_for_screen(page, PROMPT)
    page.keyboard.type("echo hello; tty\n")
    text = wait_for_screen(page, "/dev/pts/")
    assert "\nhello\n/dev/pts/" in text

    page.keyboard.type("printf 'h\\303\\251llo \\342\\234\\223\\n'\n")  # UTF-8 bytes from the device
    wait_for_screen(page, "\nhéllo ✓\n")
    page.keyboard.type("echo 'typed: ✓ é € ß'\n")  # UTF-8 typed in the browser
    wait_for_screen(page, "\ntyped: ✓ é € ß\n")

    cols, rows = page.evaluate("() => [window.webTerminal.cols, window.webTerminal.rows]")
    page.keyboard.type("stty size\n")
    wait_for_screen(page, f"\n{rows} {cols}\n")
    page.set_viewport_size({"width": 640, "height": 360})
    page.wait_for_function(f"() => window.webTerminal.cols < {cols} && window.webTerminal.rows < {rows}")
    smaller = settled_size(page)
    page.keyboard.type("stty size\n")
    wait_for_screen(page, f"\n{smaller[1]} {smaller[0]}\n")

    # Paste with Ctrl+Shift+V; copy the selection with Ctrl+Shift+C.
    page.evaluate("() => navigator.clipboard.writeText('echo pasted-$((6*7))')")
    page.keyboard.press("Control+Shift+V")
    page.keyboard.press("Enter")
    text = wait_for_screen(page, "\npasted-42\n")
    row = text.split("\n").index("pasted-42")
    page.evaluate(f"() => window.webTerminal.selectLines({row}, {row})")
    page.keyboard.press("Control+Shift+C")
    assert page.evaluate("() => navigator.clipboard.readText()").strip() == "pasted-42"

    page.set_viewport_size({"width": 1000, "height": 600})
    page.keyboard.type("echo hello; tty\n")
    page.wait_for_function(  # the second answer, and the prompt after it
        f"prompt => {{ const text = ({SCREEN})().trimEnd();"
        " return text.split('/dev/pts/').length === 3 && text.endsWith(prompt.trim()); }",
        arg=PROMPT,
    )
    if os.environ.get("WEB_TERMINAL_SCREENSHOT"):  # the README's picture: see its Web terminal section
        page.screenshot(path=os.environ["WEB_TERMINAL_SCREENSHOT"])
    page.keyboard.type("exit 3\n")
    wait_for_screen(page, "[exit status 3]")
    assert page.inner_text("#status") == "exit status 3"

    audit = [json.loads(line) for line in web.stack.stop().splitlines() if line.startswith("{")]
    assert [(a["user"], a["device"], a["via"], a["result"]) for a in audit] == [
        ("alice", web.device.uuid, "web-terminal", "ok")
    ]
    assert web.token.split(":")[1] not in web.stop()  # the token never reaches the log


def test_a_wrong_token_is_refused(web, page):
    web.sign_in(page, token=web.token[:-4] + "AAAA")
    page.wait_for_selector("#signin-error:text('token not recognised')")
    assert page.is_hidden("#devices") and page.is_visible("#signin")
    assert page.context.cookies() == []
    web.sign_in(page, token="not even a token")
    page.wait_for_selector("#signin-error:text('that is not a web terminal token')")


def test_a_device_not_granted_is_refused_by_the_proxy(web, page):
    other = web.stack.device("not-granted", grant=False)
    web.sign_in(page)
    page.wait_for_selector("#devices:not([hidden])")
    assert page.locator("#device-list a").all_inner_texts() == [web.device.uuid]  # only alice's
    page.goto(f"{web.url}#{other.uuid}")
    text = wait_for_screen(page, "[exit status 255]")
    assert f"{no_access(other.uuid)}\n\n[exit status 255]" in text


def test_wiped_identity_keys_show_the_proxys_line(web, page):
    env = {"SSH_AUTH_SOCK": web.stack.agent, "PATH": os.environ["PATH"]}
    subprocess.run(["ssh-add", "-D"], env=env, check=True, capture_output=True, timeout=10)
    web.open(page, web.device.uuid)
    text = wait_for_screen(page, "[exit status 255]")
    assert f"{NO_IDENTITIES}\n\n[exit status 255]" in text
    assert page.inner_text("#status") == "exit status 255"


def test_the_proxy_going_away_is_named(web, page):
    web.open(page, web.device.uuid)
    wait_for_screen(page, PROMPT)
    web.stack.stop()
    wait_for_screen(page, "the connection to the SSH proxy was lost")
    page.reload()
    text = wait_for_screen(page, "cannot reach")
    assert (
        f"the web terminal cannot reach the SSH proxy at 127.0.0.1:{web.stack.port}: connection refused"
        in text
    )
