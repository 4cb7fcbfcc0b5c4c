"""A child's output, line by line, to the log under its unit's name and to the unit's tail.

Apart from ``supervise`` because a process outlives its run when it drains in the background
(``drain``): its lines are still the unit's.
"""

from supervisor.runtime.log import Log
from supervisor.runtime.unit import Unit

OUTPUT_GRACE = 1.0
"""How long the lines a process wrote before it exited may take to be read, once it has."""
_LONGEST_LINE = 65536


async def pump(log: Log, unit: Unit, stream, name: str) -> None:
    """Every line the child writes on ``stream`` (``name``: stdout or stderr), to ``log`` with the
    unit's name, and to its tail for status."""
    pending = b""
    async for chunk in stream:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        if len(pending) > _LONGEST_LINE:
            lines.append(pending)
            pending = b""
        for line in lines:
            _emit(log, unit, name, line)
    if pending:
        _emit(log, unit, name, pending)


def _emit(log: Log, unit: Unit, name: str, line: bytes) -> None:
    text = line.decode(errors="replace").rstrip("\r")
    unit.tail.append(text)
    log.output(unit.name, name, text)
