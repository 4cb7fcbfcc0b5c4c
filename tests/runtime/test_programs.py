"""Program lookups: the runtime's fresh one before a spawn, and the remembering one of a check of
many commands (lint, ``run``'s check), which must answer exactly as the fresh one does."""

import os

from supervisor.runtime.launch import Launch
from supervisor.runtime.programs import _Programs, find_program


def _tree(tmp_path):
    """A directory of programs and of things named like programs that are not."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "tool").write_text("#!/bin/sh\n")
    (bin_dir / "tool").chmod(0o755)
    (bin_dir / "plain").write_text("")
    (bin_dir / "plain").chmod(0o644)
    (bin_dir / "folder").mkdir()
    (bin_dir / "folder").chmod(0o755)
    (bin_dir / "link").symlink_to(bin_dir / "tool")
    (bin_dir / "dangling").symlink_to(tmp_path / "nowhere")
    (bin_dir / "to-folder").symlink_to(bin_dir / "folder")
    return bin_dir


EXPECTED = {
    "tool": ("tool", ""),
    "link": ("link", ""),
    "plain": (None, "'{p}' is not executable"),
    "folder": (None, "'{p}' is not executable"),
    "to-folder": (None, "'{p}' is not executable"),
    "dangling": (None, "'{p}' does not exist"),
    "missing": (None, "'{p}' does not exist"),
}


def _paths(bin_dir):
    """Each name of EXPECTED as an absolute path, as a relative one, under a directory that does
    not exist, and under a file (which is no directory)."""
    for name, (found, why) in EXPECTED.items():
        for program in (str(bin_dir / name), f"./bin/{name}"):
            full = os.path.join(bin_dir.parent, program)  # as the command's working_dir joins it
            yield program, (found and full, why.format(p=program))
    for program in (str(bin_dir / "gone" / "tool"), "./gone/tool", str(bin_dir / "tool" / "tool")):
        yield program, (None, f"{program!r} does not exist")


def test_a_check_of_many_commands_finds_what_the_fresh_lookup_finds(tmp_path):
    bin_dir = _tree(tmp_path)
    env = {"PATH": f"{tmp_path / 'gone'}{os.pathsep}{bin_dir}"}
    cases = [*_paths(bin_dir), ("tool", (str(bin_dir / "tool"), "")), ("plain", (None, "'plain' is not on PATH"))]
    cases += [("folder", (None, "'folder' is not on PATH")), ("missing", (None, "'missing' is not on PATH"))]
    programs = _Programs()
    for program, expected in cases * 2:  # the second time from what the check remembers
        launch = Launch(command=(program,), env=env, cwd=str(tmp_path))
        assert find_program(program, env, str(tmp_path)) == expected, program
        assert programs.find(program, launch) == expected, program


def test_the_fresh_lookup_sees_a_program_installed_since(tmp_path):
    """The runtime looks before every spawn: a program installed after a failed spawn is found."""
    program = str(tmp_path / "later" / "tool")
    assert find_program(program, {}, None) == (None, f"{program!r} does not exist")
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "tool").write_text("#!/bin/sh\n")
    assert find_program(program, {}, None) == (None, f"{program!r} is not executable")
    (tmp_path / "later" / "tool").chmod(0o755)
    assert find_program(program, {}, None) == (program, "")
