"""The command line as a shell user meets it: every subcommand's --help says what it does, and
bash, zsh and fish complete subcommands and options."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from examples.demo.stack import ROOT
from supervisor.cli import COMMANDS, build_parser

BIN = Path(sys.executable).parent  # the venv's bin: its `supervisor` is the one under test


def _subparsers() -> dict:
    parser = build_parser()
    (action,) = [a for a in parser._actions if a.dest == "command"]
    return action.choices


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_explains_itself_in_its_help(command, capsys):
    from supervisor.cli import main

    parser = _subparsers()[command]
    assert parser.description and len(parser.description) > 40, command
    with pytest.raises(SystemExit) as exit:
        main([command, "--help"])
    assert exit.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert " ".join(parser.description.split()) in shown


def _shell(argv: list[str], script: str) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([*argv, script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bash_completes_subcommands_and_options():
    script = """
    source <(supervisor completion bash)
    complete -p supervisor
    for line in "supervisor li" "supervisor lint --st" "supervisor graph g.toml --format m"; do
        COMP_LINE="$line"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$line"
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _python_argcomplete supervisor
        echo "${COMPREPLY[*]}"
    done
    """
    lines = _shell(["bash", "-c"], script).splitlines()
    assert "_python_argcomplete" in lines[0] and lines[0].endswith(" supervisor")
    assert [line.strip() for line in lines[1:]] == ["lint", "--strict", "mermaid"]


def test_fish_completes_subcommands_with_their_help():
    out = _shell(["fish", "-c"], 'supervisor completion fish | source; complete -C"supervisor sc"')
    assert out.splitlines() == ["schema\tprint the graph file format as JSON Schema"]


def test_zsh_loads_the_completion_and_gets_described_answers(tmp_path):
    loaded = _shell(
        ["zsh", "-fc"],
        'autoload -U compinit && compinit -u -D && eval "$(supervisor completion zsh)" '
        "&& whence -w _python_argcomplete",
    )
    assert loaded.strip() == "_python_argcomplete: function"
    # What the zsh function asks `supervisor` for, and what it hands to _describe.
    answer = tmp_path / "answer"
    subprocess.run(
        [BIN / "supervisor"],
        env={
            **os.environ,
            "_ARGCOMPLETE": "1",
            "_ARGCOMPLETE_SHELL": "zsh",
            "_ARGCOMPLETE_SUPPRESS_SPACE": "1",  # as the zsh function sets it
            "COMP_LINE": "supervisor ex",
            "COMP_POINT": "13",
            "_ARGCOMPLETE_STDOUT_FILENAME": str(answer),
        },
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    (explain,) = answer.read_text().split("\x0b")
    assert re.fullmatch(r"explain:explain a capability or a service.*", explain)
