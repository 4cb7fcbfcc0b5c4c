"""The supervisor's text log on an operator's terminal: a child's output cannot drive the terminal."""

import signal
import subprocess
import sys
import textwrap

from examples.demo.stack import ROOT

PY = sys.executable

# What a child might print, on purpose or not: colours and a carriage return that would overwrite
# the line's unit prefix, a window title, a line separator, a bidi override, rich markup, a tab.
HOSTILE = "a\x1b[31mred\x1b[0m\rforged\n\x1b]0;title\x07 x\u2028y\u202e \x85z\t[bold]markup[/]\n"


def test_a_childs_control_characters_are_escaped_one_line_per_record(tmp_path):
    script = tmp_path / "talker.py"
    script.write_text(f"import sys\nsys.stdout.write({HOSTILE!r})\n")
    graph = tmp_path / "g.toml"
    graph.write_text(
        textwrap.dedent(f"""
    version = 1
    [services.talker]
    kind = "oneshot"
    command = [{str(PY)!r}, {str(script)!r}]
    """)
    )
    proc = subprocess.Popen(
        [PY, "-m", "supervisor", "run", str(graph), "--runtime-dir", str(tmp_path / "rt")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    lines = []
    for line in proc.stdout:
        lines.append(line.decode())
        if "done" in lines[-1]:
            break
    proc.send_signal(signal.SIGINT)
    proc.stdout.read()
    assert proc.wait(10) == 0
    output = [line for line in lines if line.startswith("talker     | ")]
    assert output[:2] == [
        "talker     | a\\x1b[31mred\\x1b[0m\\rforged\n",
        "talker     | \\x1b]0;title\\x07 x\\u2028y\\u202e \\x85z      [bold]markup[/]\n",  # a tab expanded
    ]
    assert all(line.isprintable() for line in "".join(lines).splitlines())
