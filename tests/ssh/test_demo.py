"""The README's main job: the demo stack comes up under the supervisor and serves one ssh."""

import os
import subprocess
import sys

from examples.demo.stack import ROOT
from tests.helpers.net import free_port


def test_demo_stack_serves_ssh_through_the_proxy(tmp_path):
    env = {
        **os.environ,
        "DEMO_DIR": str(tmp_path / "demo"),
        "PROXY_PORT": str(free_port()),
        "DEVICE_PORT": str(free_port()),
    }
    demo = subprocess.run(
        [sys.executable, "examples/demo/demo.py", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "demo-ok" in demo.stdout
    assert f"-p {env['PROXY_PORT']} demo+" in demo.stdout  # the exact ssh line is printed
    assert '"result": "ok"' in demo.stdout  # the proxy's audit line for the session
    assert "supervisor  exit exit status 0" in demo.stdout
