"""Start order, concurrency, refusal of graphs with a missing provider, expansion, output."""

import os
import signal
import subprocess
import sys
import textwrap

from examples.demo.stack import ROOT, wait_until

CHAIN = """
version = 1
name = "chain"
[services.base]
command = ["sh", "-c", "echo base says hi; sleep 0.3; touch ${RUNTIME_DIR}/base-ready; exec sleep 60"]
provides = ["base"]
ready = { file = "${RUNTIME_DIR}/base-ready", interval = "50ms" }
[services.left]
command = ["sleep", "60"]
requires = ["base"]
provides = ["left"]
[services.right]
command = ["sleep", "60"]
requires = ["base"]
provides = ["right"]
[services.top]
kind = "oneshot"
command = ["sh", "-c", "echo ${GREETING:-hello} from top"]
requires = ["left", "right"]
provides = ["top"]
[services.user]
command = ["sleep", "60"]
requires = ["top"]
"""


def test_dependents_start_after_providers_prove_ready(supervisor):
    sup = supervisor(CHAIN)
    sup.wait_event("user", "ready")
    assert sup.index("base", "ready") < sup.index("left", "starting")
    assert sup.index("base", "ready") < sup.index("right", "starting")
    # the two siblings start at once: both start before either becomes ready
    assert max(sup.index("left", "started"), sup.index("right", "started")) < min(
        sup.index("left", "ready"), sup.index("right", "ready")
    )
    assert sup.index("top", "done") < sup.index("user", "starting")
    assert "hello from top" in sup.output("top")
    assert "base says hi" in sup.output("base")
    waiting = sup.events("top", "waiting")[0]["message"]
    assert "waiting for left" in waiting and "provider left" in waiting
    assert sup.stop() == 0


def test_refuses_missing_provider_and_spawns_nothing(supervisor, tmp_path):
    marker = tmp_path / "spawned"
    sup = supervisor(f"""
    version = 1
    [services.a]
    command = ["touch", "{marker}"]
    [services.b]
    command = ["touch", "{marker}"]
    requires = ["agent"]
    """)
    assert sup.wait() == 78
    assert "missing-provider" in sup.process.stderr.read()
    assert not marker.exists()
    assert not sup.runtime_dir.exists()


def test_refuses_an_unset_variable_and_spawns_nothing(supervisor, tmp_path):
    """It used to start, fail on expansion and back off six times."""
    marker = tmp_path / "spawned"
    sup = supervisor(
        f"""
    version = 1
    [services.a]
    command = ["touch", "{marker}"]
    [services.b]
    command = ["touch", "{marker}", "${{SURELY_NOT_SET_ANYWHERE}}", "${{SET_HERE}}"]
    [services.c]
    command = ["touch", "${{ALSO_UNSET}}"]
    optional = true
    """,
        "--disable",
        "c",
        env={**os.environ, "SET_HERE": "1"},
    )
    assert sup.wait() == 78
    stderr = sup.process.stderr.read()
    assert "error unset-variable" in stderr and "b's command[2] uses ${SURELY_NOT_SET_ANYWHERE}" in stderr
    assert "uses ${SET_HERE}" not in stderr and "uses ${ALSO_UNSET}" not in stderr  # set; switched off
    assert stderr.count("error unset-variable") == 1
    assert not marker.exists()


def test_disable_is_linted_too(supervisor):
    sup = supervisor(CHAIN, "--disable", "left")
    assert sup.wait() == 78
    assert "switched off" in sup.process.stderr.read()


def test_runtime_dir_is_private_and_children_get_no_stray_fds(supervisor):
    sup = supervisor("""
    version = 1
    [services.fds]
    command = ["python3", "-c", "import os, time; print('fds', sorted(os.listdir('/proc/self/fd'))); time.sleep(60)"]
    """)
    sup.wait_event("fds", "ready")
    assert oct(sup.runtime_dir.stat().st_mode & 0o777) == "0o700"
    wait_until(lambda: sup.output("fds"), what="output")
    assert sup.output("fds") == ["fds ['0', '1', '2', '3']"]  # 3 is listdir's own
    assert sup.stop() == 0


def test_refuses_a_command_that_cannot_run_and_spawns_nothing(supervisor, tmp_path):
    marker = tmp_path / "spawned"
    sup = supervisor(f"""
    version = 1
    [services.fine]
    command = ["touch", "{marker}"]
    [services.nocmd]
    command = ["no-such-program-xyz"]
    [services.nomodule]
    command = ["python3", "-m", "no_such_module_xyz"]
    [services.nodir]
    command = ["true"]
    working_dir = "/no/such/dir"
    """)
    assert sup.wait() == 78
    stderr = sup.process.stderr.read()
    assert stderr.count("error command-not-found") == 3
    assert "nocmd's command runs no-such-program-xyz, but 'no-such-program-xyz' is not on PATH" in stderr
    assert "finds no module no_such_module_xyz" in stderr
    assert "nodir's working_dir is /no/such/dir, which does not exist" in stderr
    assert not marker.exists()


def test_a_program_or_directory_gone_at_run_time_is_an_event_not_a_traceback(supervisor, tmp_path):
    """What run's check saw can change before a restart: the spawn says so, in the unit's reason."""
    program, directory = tmp_path / "once", tmp_path / "workdir"
    program.write_text('#!/bin/sh\nrm "$0"\nexit 1\n')
    program.chmod(0o755)
    directory.mkdir()
    sup = supervisor(f"""
    version = 1
    [services.nocmd]
    command = ["{program}"]
    max_restarts = 1
    [services.nodir]
    command = ["sh", "-c", "rmdir {directory}; exit 1"]
    working_dir = "{directory}"
    max_restarts = 1
    [services.fine]
    command = ["sleep", "60"]
    """)
    assert f"command '{program}' does not exist" in sup.wait_event("nocmd", "failed")["message"]
    assert f"working_dir {directory} does not exist" in sup.wait_event("nodir", "failed")["message"]
    sup.wait_event("fine", "ready")
    assert sup.stop() == 0
    assert "Traceback" not in sup.process.stderr.read() + "".join(sup.lines)


def test_text_output_prefixes_lines_with_the_unit(supervisor, tmp_path):
    graph = tmp_path / "g.toml"
    graph.write_text(
        textwrap.dedent("""
    version = 1
    [services.talker]
    kind = "oneshot"
    command = ["sh", "-c", "echo out-line; echo err-line >&2"]
    """)
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "supervisor", "run", str(graph), "--runtime-dir", str(tmp_path / "rt")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "done" in line:
            break
    proc.send_signal(signal.SIGINT)
    proc.stdout.read()
    assert proc.wait(10) == 0
    assert any(line.startswith("talker") and "| out-line" in line for line in lines)
    assert any(line.startswith("talker") and "! err-line" in line for line in lines)
    assert os.path.exists(tmp_path / "rt")


def test_a_relative_program_runs_from_its_working_dir(supervisor, tmp_path):
    """``./serve`` is found in working_dir, where exec finds it, not in the supervisor's directory."""
    (tmp_path / "serve").write_text('#!/bin/sh\necho "serving from $(pwd)"\n')
    (tmp_path / "serve").chmod(0o755)
    sup = supervisor(f"""
    version = 1
    [services.app]
    kind = "oneshot"
    command = ["./serve"]
    working_dir = "{tmp_path}"
    """)
    sup.wait_event("app", "done")
    assert sup.output("app") == [f"serving from {tmp_path}"]
    assert sup.stop() == 0


def test_numbers_and_booleans_in_environment_reach_the_child_as_written(supervisor):
    sup = supervisor("""
    version = 1
    [services.app]
    kind = "oneshot"
    command = ["sh", "-c", "echo $PORT $DEBUG $QUIET $NAME"]
    environment = { PORT = 8080, DEBUG = true, QUIET = false, NAME = "app" }
    """)
    sup.wait_event("app", "done")
    assert sup.output("app") == ["8080 true false app"]
    assert sup.stop() == 0
