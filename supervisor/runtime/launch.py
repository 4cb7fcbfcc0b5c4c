"""What exactly to exec for a unit: the graph's strings with ``${VAR}`` expanded, and the env.

Expansion errors become LaunchError with a message for the event, never a traceback.
"""

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import attrs

from supervisor.graph.expand import ExpansionError, expand
from supervisor.graph.model import HttpGet, Probe, Service
from supervisor.runtime.credentials import SUPERVISOR, Credentials, CredentialsError, resolve
from supervisor.runtime.envfile import EnvFileError, read_env_file

SHIM = str(Path(__file__).with_name("exec_shim.py"))


class LaunchError(Exception):
    """A setting cannot be turned into something to run (bad expansion, socket cannot be opened).

    ``setting`` is the path of a setting that names something this machine lacks (a user, an
    env_file), which lint reports too; None for an expansion error, which the unset-variable
    rule reports."""

    def __init__(self, message: str, setting: tuple[str | int, ...] | None = None) -> None:
        super().__init__(message)
        self.setting = setting


@attrs.frozen
class Launch:
    command: tuple[str, ...]
    env: Mapping[str, str]
    cwd: str | None = None
    listen_fds: tuple[int, ...] = ()
    listen_names: tuple[str, ...] = ()
    credentials: Credentials = SUPERVISOR

    @property
    def argv(self) -> tuple[str, ...]:
        """The command, behind the exec shim when sockets are handed over (it sets LISTEN_PID)."""
        if not self.listen_fds:
            return self.command
        fds = ",".join(str(fd) for fd in self.listen_fds)
        return (sys.executable, "-S", SHIM, fds, ":".join(self.listen_names), *self.command)


def graph_variables(graph_file: str, runtime_dir: Path, values: Mapping[str, str]) -> dict[str, str]:
    """What ``${VAR}`` expands to in a graph: ``values`` (the environment, when it runs) and the
    built-in RUNTIME_DIR and GRAPH_DIR."""
    return {
        **values,
        "RUNTIME_DIR": str(runtime_dir),
        "GRAPH_DIR": str(Path(graph_file).resolve().parent),
    }


def expand_setting(text: str, variables: Mapping[str, str], what: str) -> str:
    try:
        return expand(text, variables)
    except ExpansionError as error:
        raise LaunchError(f"{what}: {error}") from None


def expand_probe_target(
    probe: Probe, variables: Mapping[str, str]
) -> tuple[str, ...] | str | HttpGet | None:
    what = f"{probe.kind} probe"
    target = probe.target
    if isinstance(target, tuple):
        return tuple(expand_setting(word, variables, what) for word in target)
    if isinstance(target, HttpGet):
        return attrs.evolve(
            target,
            url=expand_setting(target.url, variables, what),
            headers={name: expand_setting(value, variables, what) for name, value in target.headers.items()},
        )
    if target is None:
        return None
    return expand_setting(target, variables, what)


def build_launch(
    service: Service,
    variables: Mapping[str, str],
    extra_env: Mapping[str, str],
    listen_fds: tuple[int, ...] = (),
    environ: Mapping[str, str] | None = None,
) -> Launch:
    """What to exec for ``service``, in ``environ`` (the supervisor's environment, os.environ,
    unless the caller holds a copy: reading os.environ decodes every variable each time)."""
    credentials = _credentials(service, variables)
    env = dict(os.environ if environ is None else environ)
    env.update(credentials.env)
    env.update(extra_env)
    for index, path in enumerate(service.env_file):
        where = Path(variables.get("GRAPH_DIR", ".")) / expand_setting(path, variables, "env_file")
        try:
            env.update(read_env_file(str(where)))
        except EnvFileError as error:
            raise LaunchError(f"env_file {error}", ("env_file", index)) from None
    for key, value in service.environment.items():
        env[key] = expand_setting(value, variables, f"environment.{key}")
    cwd = service.working_dir
    return Launch(
        command=tuple(expand_setting(word, variables, "command") for word in service.command),
        env=env,
        cwd=expand_setting(cwd, variables, "working_dir") if cwd is not None else None,
        listen_fds=listen_fds,
        listen_names=tuple(service.name for _ in listen_fds),
        credentials=credentials,
    )


def _credentials(service: Service, variables: Mapping[str, str]) -> Credentials:
    if service.user is None and service.group is None and service.umask is None:
        return SUPERVISOR
    user = expand_setting(service.user, variables, "user") if service.user is not None else None
    group = expand_setting(service.group, variables, "group") if service.group is not None else None
    try:
        return resolve(user, group, service.umask)
    except CredentialsError as error:
        raise LaunchError(str(error), (error.setting,)) from None
