"""Exec shim for socket activation: ``exec_shim.py FDS NAMES COMMAND...``.

The systemd protocol wants ``LISTEN_PID`` to be the pid of the process that reads it, which only
the child knows, and the sockets at fds 3, 4, …. ``subprocess`` cannot set the environment after
fork, so this tiny program (run with ``python -S``, importing only ``fcntl``, ``os`` and ``sys``)
moves the inherited fds into place, sets the three variables and execs the real command in the
same pid.
"""

import fcntl
import os
import sys


def main() -> None:
    fds = [int(fd) for fd in sys.argv[1].split(",")]
    names, command = sys.argv[2], sys.argv[3:]
    # Out of the way first (above every target), so no dup2 overwrites a source.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 3 + len(fds)) for fd in fds]
    for fd in fds:
        os.close(fd)
    for index, fd in enumerate(high):
        os.dup2(fd, 3 + index, inheritable=True)
        os.close(fd)
    os.environ.update(LISTEN_FDS=str(len(fds)), LISTEN_FDNAMES=names, LISTEN_PID=str(os.getpid()))
    try:
        os.execvp(command[0], command)
    except OSError as error:
        sys.stderr.write(f"cannot run {command[0]!r}: {error.strerror}\n")
        raise SystemExit(127) from None


if __name__ == "__main__":
    main()
