"""The runtime directory: private to the supervisor's user, held by one supervisor at a time, and
emptied at start of whatever a previous run left in it.

It holds the control socket (whoever can reach it can stop the graph) and the services' own
sockets (the ssh-agent's, which signs with the identity keys), so, as OpenSSH and tmux do with
theirs, the supervisor refuses a directory that another user owns or that is not 0700, and a
symbolic link anywhere it creates directories for itself (``/tmp/supervisor-UID`` is a name
anyone can take first).

A lock (``supervisor.lock``, flock'ed for the supervisor's lifetime) makes the directory one
supervisor's: a second ``supervisor run`` of the same graph is refused instead of taking over the
first one's control socket. Holding the lock proves that no other supervisor uses the directory,
so everything else in it is a previous run's: its process groups are stopped (see ``groups``)
and the directory is emptied, so that no stale socket (``agent.sock``) keeps a service from
binding it again.
"""

import fcntl
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from supervisor.runtime.groups import FILE as GROUPS
from supervisor.runtime.groups import GroupRecord
from supervisor.runtime.log import Log

LOCK = "supervisor.lock"


class RuntimeDirError(Exception):
    """The runtime directory cannot be used; the message says why and what to do."""


def default_runtime_dir(name: str) -> tuple[Path, Path]:
    """``(private, directory)``: the graph ``name``'s directory, and the topmost directory from
    which down every one must be private (created 0700 by the supervisor, or checked)."""
    if os.geteuid() == 0:
        private = Path("/run/supervisor")
        return private, private / name
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    private = Path(xdg) if xdg else Path(f"/tmp/supervisor-{os.geteuid()}")
    return private, private / "supervisor" / name


def absolute(private: Path, directory: Path) -> Path:
    """The absolute path of ``directory`` as the run uses it (its ``RUNTIME_DIR``), created yet
    or not: the links above ``private`` resolved (they are the system's: /var/run -> /run), none
    below it (``make_private`` refuses those). ``private`` is ``directory`` or a parent of it."""
    top = Path(os.path.abspath(private))
    return top.parent.resolve() / top.name / Path(os.path.abspath(directory)).relative_to(top)


def make_private(private: Path, directory: Path) -> Path:
    """Create what is missing of ``directory``, 0700 from ``private`` down, and check that each
    directory from ``private`` down is a real directory of this user's with mode 0700; return
    its ``absolute`` path, or raise RuntimeDirError. ``private`` is ``directory`` or a parent of it."""
    top = absolute(private, private)
    directory = absolute(private, directory)
    below = directory.relative_to(top)
    path = top
    try:
        top.parent.mkdir(parents=True, exist_ok=True)
        for part in ("", *below.parts):
            path = path / part
            try:
                path.mkdir(mode=0o700)
                os.chmod(path, 0o700)  # mkdir's mode went through the umask
            except FileExistsError:
                pass
            _check_private(path, directory)
    except OSError as error:
        raise RuntimeDirError(f"runtime dir {directory}: {path}: {error.strerror}") from None
    return directory


def _check_private(path: Path, directory: Path) -> None:
    info = path.lstat()
    what = f"runtime dir {directory}" + ("" if path == directory else f": {path}")
    if stat.S_ISLNK(info.st_mode):
        raise RuntimeDirError(f"{what} is a symbolic link: use a directory of your own")
    if not stat.S_ISDIR(info.st_mode):
        raise RuntimeDirError(f"{what} is not a directory")
    if info.st_uid != os.geteuid():
        raise RuntimeDirError(
            f"{what} belongs to uid {info.st_uid}, not to you (uid {os.geteuid()}): "
            "use a directory of your own (--runtime-dir DIR)"
        )
    mode = stat.S_IMODE(info.st_mode) & 0o777
    if mode != 0o700:
        raise RuntimeDirError(f"{what} has mode {mode:04o}, not 0700: run chmod 700 {path}")


@contextmanager
def claimed(directory: Path, log: Log) -> Iterator[GroupRecord]:
    """Hold ``directory`` for as long as the block runs: lock it (RuntimeDirError if another
    supervisor holds it), stop what a previous run left running, empty it, and give the record
    in which this run keeps its process groups."""
    lock = directory / LOCK
    if not lock.exists() and any(directory.iterdir()):
        raise RuntimeDirError(
            f"runtime dir {directory} is not empty and was never a supervisor's (no {LOCK}): "
            "use a new or empty directory"
        )
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise RuntimeDirError(f"runtime dir {directory}: {lock}: {error.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RuntimeDirError(
                f"runtime dir {directory} is in use by a running supervisor (pid {holder}): "
                f"stop it first (supervisor shutdown --control {directory / 'control.sock'}) "
                "or use another --runtime-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        record = GroupRecord(directory / GROUPS)
        record.stop_leftovers(log)
        _empty(directory, log)
        yield record
    finally:
        os.close(fd)  # the lock goes with it; the file stays (unlinking it would race a locker)


def _empty(directory: Path, log: Log) -> None:
    """Remove everything but the lock: a previous run's sockets, records and services' files."""
    removed = sorted(entry.name for entry in directory.iterdir() if entry.name != LOCK)
    for name in removed:
        path = directory / name
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as error:
            message = f"runtime dir {directory}: cannot remove {name!r}: {error.strerror}"
            raise RuntimeDirError(message) from None
    if removed:
        shown = ", ".join(repr(name) for name in removed[:10]) + (", ..." if len(removed) > 10 else "")
        log.event("supervisor", "cleaned", f"removed what a previous run left ({len(removed)}): {shown}")
