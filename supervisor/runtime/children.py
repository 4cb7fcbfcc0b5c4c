"""Every process the supervisor starts: each in its own session, so a whole group can be signalled,
and each pid known, so the PID 1 reaper never steals an exit status trio is waiting for, and
recorded in the runtime directory, so a run after a crash can stop what this one left."""

import os
import signal
import subprocess

import attrs
import trio

from supervisor.runtime.groups import GroupRecord
from supervisor.runtime.launch import Launch
from supervisor.runtime.programs import find_program


class SpawnError(Exception):
    """The process could not be started at all; the message says why, for the event and status."""


@attrs.define
class Children:
    pids: set[int] = attrs.field(factory=set)
    spawning: int = 0
    record: GroupRecord | None = None

    async def spawn(self, launch: Launch, *, merge_stderr: bool = False) -> trio.Process:
        """Start ``launch`` in a new session with piped output; SpawnError if it cannot run.

        The spawn is shielded: a process that started must be known, or it could be left behind.
        """
        if launch.cwd is not None and not os.path.isdir(launch.cwd):
            raise SpawnError(f"working_dir {launch.cwd} does not exist")
        program = launch.command[0]
        found, why = find_program(program, launch.env, launch.cwd)
        if found is None:
            raise SpawnError(f"command {why}")
        self.spawning += 1
        try:
            with trio.CancelScope(shield=True):
                process = await trio.lowlevel.open_process(
                    list(launch.argv),
                    env=launch.env,
                    cwd=launch.cwd,
                    start_new_session=True,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                    pass_fds=launch.listen_fds,
                    **launch.credentials.popen(),
                )
        except OSError as error:
            raise SpawnError(f"cannot run {program!r}: {error.strerror}") from None
        finally:
            self.spawning -= 1
        self.pids.add(process.pid)
        if self.record is not None:
            self.record.add(process.pid)
        return process

    async def finish(self, process: trio.Process) -> None:
        """The end of every child, however its caller ends (cancelled included): SIGKILL to its
        group if it still runs, then it is waited for, its pipes closed, and it is forgotten."""
        if process.returncode is None:
            self.signal_group(process.pid, signal.SIGKILL)
        with trio.CancelScope(shield=True):
            await process.wait()
            await process.stdout.aclose()
            if process.stderr is not None:  # None when merged into stdout
                await process.stderr.aclose()
        self.reaped(process)

    def reaped(self, process: trio.Process) -> None:
        self.pids.discard(process.pid)
        if self.record is not None:
            self.record.remove(process.pid)

    def signal_group(self, pid: int, sig: int) -> bool:
        """Send ``sig`` to the process group led by ``pid``; False if nothing is left in it.

        Every signal to a child goes through here, as every spawn does: with this class replaced,
        the runtime's logic runs against simulated processes on trio's mock clock (the tests'
        ``tests/helpers/simulated.py``).
        """
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def kill_all(self, sig: int = signal.SIGKILL) -> None:
        """Signal the group of every child still known: the last line of defence on any exit path."""
        for pid in list(self.pids):
            self.signal_group(pid, sig)
