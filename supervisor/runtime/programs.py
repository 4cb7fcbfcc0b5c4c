"""Whether a command can run here: its program, found as exec would find it, and for
``python -m MODULE`` the module, found as that Python would find it.

The runtime looks a program up with :func:`find_program` before it spawns one, and lint and
``run``'s check ask :func:`unrunnable` about every command of a graph before anything starts, so
both find the same file: a name on the ``PATH`` the command runs with, a path with a slash
relative to the command's ``working_dir`` (as ``execvp`` in the child sees it). Modules are
looked for by the command's own interpreter, in the command's directory and environment, by the
finders of its ``sys.meta_path`` (an editable install has its own), which only locate: nothing of
the module or its packages is imported or run.
"""

import functools
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterable, Mapping

from supervisor.graph.model import Service
from supervisor.runtime.launch import Launch, LaunchError, build_launch, expand_probe_target

_PYTHON = re.compile(r"python[0-9.]*")
_TAKES_VALUE = ("-X", "-W", "-Q")
_LOOK_FOR_MODULES = r"""
import json, sys

def spec_of(name, path):
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        spec = find_spec(name, path) if find_spec else None
        if spec is not None:
            return spec

def found(name):
    spec, path = None, None
    for part in name.split("."):
        spec = spec_of(part if spec is None else f"{spec.name}.{part}", path)
        if spec is None:
            return False
        path = spec.submodule_search_locations
    return path is None or spec_of(f"{name}.__main__", path) is not None

print(json.dumps([found(name) for name in sys.argv[1:]]))
"""
_MODULE_LOOKUP_TIMEOUT = 30.0


def find_program(
    program: str, env: Mapping[str, str], cwd: str | None, directory_exists: Callable[[str], bool] = os.path.exists
) -> tuple[str | None, str]:
    """The file ``program`` runs as, or None and why not (for a message: ``'x' is not executable``):
    a name on ``env``'s PATH, a path with a slash relative to ``cwd`` (one ``stat`` says both
    whether it is an executable regular file and, if not, whether it exists).

    ``directory_exists`` may remember its answers, for a caller that looks up many programs at
    once: what is under a directory that does not exist does not exist either."""
    if "/" not in program:
        found = shutil.which(program, path=env.get("PATH", os.defpath))
        return (found, "") if found is not None else (None, f"{program!r} is not on PATH")
    full = _path_of(program, cwd)
    mode = _mode(full) if directory_exists(os.path.dirname(full)) else None
    if mode is None:
        return None, f"{program!r} does not exist"
    if stat.S_ISREG(mode) and os.access(full, os.X_OK):
        return full, ""
    return None, f"{program!r} is not executable"


def _mode(path: str) -> int | None:
    """The mode of the file at ``path`` (links followed, as exec follows them), None if there is none."""
    try:
        return os.stat(path).st_mode
    except (OSError, ValueError):
        return None


def _path_of(program: str, cwd: str | None) -> str:
    """Where a ``program`` with a slash is: relative to ``cwd`` (or this process's directory),
    which is not asked for an absolute one (lint looks up thousands)."""
    return program if os.path.isabs(program) else os.path.join(cwd or os.getcwd(), program)


def python_module(command: tuple[str, ...]) -> str | None:
    """MODULE when ``command`` is ``python… [options] -m MODULE …``, else None."""
    if not _PYTHON.fullmatch(os.path.basename(command[0])):
        return None
    words = iter(command[1:])
    for word in words:
        if word == "-m":
            return next(words, None)
        if word.startswith("-m"):
            return word[2:]
        if word in _TAKES_VALUE:
            next(words, None)
        elif not word.startswith("-") or word.startswith("-c"):
            return None  # a script or -c: nothing to look for
    return None


Where = tuple[str, tuple[str | int, ...]]
"""A service and the path of one of its settings: ``("a", ("check", "exec"))``."""


def unrunnable(services: Iterable[Service], variables: Mapping[str, str]) -> dict[Where, str]:
    """Why each command of ``services`` that cannot run here cannot (its ``command``, or a ready
    or check ``exec``), by the setting at fault: its program or ``python -m`` module is not
    found, or its ``working_dir``, ``env_file``, ``user`` or ``group`` does not exist. A command
    that cannot be expanded is left to the unset-variable rule."""
    problems: dict[Where, str] = {}
    modules: dict[tuple, list[tuple[Where, str]]] = {}
    programs = _Programs()
    environ = dict(os.environ)  # read once, not once per service
    for service in services:
        try:
            launches = list(_commands(service, variables, environ))
        except LaunchError as error:
            problems[(service.name, error.setting)] = f"cannot be used here ({error})"
            continue
        cwd = launches[0][2].cwd if launches else None
        if cwd is not None and not os.path.isdir(cwd):
            problems[(service.name, ("working_dir",))] = f"is {cwd}, which does not exist"
            continue
        for setting, command, launch in launches:
            where = (service.name, setting)
            program, why = programs.find(command[0], launch)
            if program is None:
                problems[where] = f"runs {' '.join(command)}, but {why}"
                continue
            module = python_module(command)
            if module:
                key = (program, launch.cwd, tuple(sorted(launch.env.items())))
                modules.setdefault(key, []).append((where, module))
    for (program, cwd, env), wanted in modules.items():
        names = list(dict.fromkeys(module for _, module in wanted))
        found = _look_for_modules(program, cwd, dict(env), names)
        for where, module in wanted:
            if found is not None and not found[names.index(module)]:
                problems[where] = (
                    f"runs python -m {module}, but {program} finds no module {module}"
                    f"{f' in {cwd}' if cwd else ''} (not installed for that Python, or not on its sys.path)"
                )
    return problems


class _Programs:
    """Program lookups for a check of many commands, as :func:`find_program` makes them, with what
    repeats read once: each name per PATH and directory (a graph's probes mostly run the same few
    programs), and whether a directory exists (lint on a machine without the graph's programs
    meets thousands under one missing directory). Kept for one check only: the runtime looks
    afresh before it spawns."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str | None, str | None], tuple[str | None, str]] = {}
        self._directory_exists = functools.cache(os.path.exists)

    def find(self, name: str, launch: Launch) -> tuple[str | None, str]:
        """The file program ``name`` runs as in ``launch``'s environment and directory, or None
        and why not."""
        key = (name, launch.env.get("PATH"), launch.cwd)
        if key not in self._found:
            self._found[key] = find_program(name, launch.env, launch.cwd, self._directory_exists)
        return self._found[key]


def _commands(
    service: Service, variables: Mapping[str, str], environ: Mapping[str, str]
) -> Iterable[tuple[tuple[str, ...], tuple[str, ...], Launch]]:
    """Each command of ``service`` as it would be launched, with its setting's path and the
    service's launch (whose environment and directory its probes run with too): its own, then
    its exec probes'. LaunchError for what the machine lacks (a user, an env_file); nothing for a
    command that cannot be expanded."""
    try:
        launch = build_launch(service, variables, {}, environ=environ)
    except LaunchError as error:
        if error.setting is not None:
            raise
        return
    yield ("command",), launch.command, launch
    for role, probe in (("ready", service.ready), ("check", service.check)):
        if probe is not None and probe.kind == "exec":
            try:
                command = expand_probe_target(probe, variables)
            except LaunchError:
                continue
            yield (role, "exec"), command, launch


def _look_for_modules(
    python: str, cwd: str | None, env: Mapping[str, str], names: list[str]
) -> list[bool] | None:
    """Whether ``python`` finds each module (run in ``cwd`` with ``env``), or None if it could not say."""
    try:
        answer = subprocess.run(
            [python, "-c", _LOOK_FOR_MODULES, *names],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_MODULE_LOOKUP_TIMEOUT,
            check=False,
        )
        found = json.loads(answer.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return found if isinstance(found, list) and len(found) == len(names) else None
