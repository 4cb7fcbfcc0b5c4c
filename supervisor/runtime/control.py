"""The control socket: ``RUNTIME_DIR/control.sock``, a UNIX stream socket (mode 0600).

Protocol: JSON lines. The client sends one object a line, ``{"command": C, "target": T}``, and
gets one object a line back, in order, on the same connection:

- ``{"command": "status"}`` → ``{"ok": true, "status": {"services": [...], "capabilities": [...]}}``
- ``{"command": "start" | "stop" | "restart", "target": "svc" | "svc@2"}`` → ``{"ok": true, "units": [...]}``
  once done (``stop`` answers when the units have stopped; ``restart`` restarts them one at a
  time, each once the one before is up again, and answers with ``"steps"``: what it did to each).
- ``{"command": "reload", "graph": PATH}`` (``graph`` optional: the running file) → ``{"ok": true,
  "applied": ..., "refused": ..., "findings": [...], "services": [...]}``: see ``reload``.
- ``{"command": "shutdown"}`` → ``{"ok": true}``, then the supervisor stops the graph and exits.
- ``{"command": "logs", "target": T, "lines": N}`` and ``{"command": "events", "count": N}`` →
  what the supervisor kept of them (``feed``).
- ``{"command": "watch", ...}`` → ``{"ok": true, "status": ...}``, then the connection streams
  updates as they happen until either side closes it (``supervisor.status.update_to_json``).
- ``{"command": "health", "capabilities": [...]}`` → ``{"ok": true, "problems": [...]}``: what
  keeps the graph (or those capabilities) from being healthy, for ``status --ready``.
- ``{"command": "check", "capability": C}`` → ``{"ok": true, "capability": C, "unit": U, "check":
  {"ok": ..., "output": ..., "duration": ...}}`` once the provider's check, run now, has run.

Anything else gets ``{"ok": false, "error": "..."}``. docs/control-protocol.md has the details;
``supervisor.runtime.client`` is the client.

Clients are not trusted to behave: every line is answered or closes its own connection, and what
one client can hold is bounded (a line, one answer in flight for SEND_TIMEOUT, MAX_CLIENTS
connections, a watcher's queue), so no client can stop the supervisor, block it, or make it
buffer without end. A watch connection lives long, but the send timeout holds for each of its
sends as for any answer: a watcher that stops reading while there is something to send is
dropped; one with nothing to receive costs nothing. It may send nothing more: input after a
``watch`` line closes it (its task reads only to notice the client leaving).
"""

import itertools
import json
import os
import socket

import attrs
import trio

from supervisor.graph.durations import format_duration
from supervisor.protocol import COMMANDS, LIMIT, encode
from supervisor.runtime.core import Runtime
from supervisor.runtime.demand import Unavailable
from supervisor.runtime.feed import EVENTS_KEPT, LINES_KEPT, Watcher
from supervisor.runtime.reload import reload
from supervisor.runtime.restart import restart_rolling
from supervisor.status import Lost, update_to_json

SEND_TIMEOUT = 5.0
"""How long an answer may wait for its client to read it; then the connection is closed."""
MAX_CLIENTS = 64
"""Connections served at once; one more is told so and closed (each costs a task and an fd)."""
_COMMANDS = ", ".join(COMMANDS[:-1]) + " or " + COMMANDS[-1]


class RequestError(Exception):
    """What is wrong with a request, for its ``{"ok": false, "error": ...}`` answer."""


def _parse(line: bytes) -> dict:
    try:
        request = json.loads(line)
    except (ValueError, RecursionError) as error:  # RecursionError: nested too deep
        raise RequestError(f"not a JSON object: {error}") from None
    if not isinstance(request, dict):
        raise RequestError("not a JSON object")
    return request


@attrs.frozen
class Watch:
    """A valid ``watch`` request: the connection turns into its stream."""

    status: bool
    events: bool
    backlog: int
    output: tuple[str, ...]
    lines: int


def _flag(request: dict, name: str, default: bool) -> bool:
    value = request.get(name, default)
    if not isinstance(value, bool):
        raise RequestError(f"{name} must be true or false")
    return value


def _count(request: dict, name: str, most: int) -> int:
    """A non-negative integer field (0 if absent), capped at what is kept."""
    value = request.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RequestError(f"{name} must be a whole number, 0 or more")
    return min(value, most)


def _units(rt: Runtime, command: str, request: dict, field: str = "target") -> tuple[str, ...]:
    target = request.get(field)
    if not isinstance(target, str):
        raise RequestError(f"{command} needs a {field}: a service name, or one replica as NAME@N")
    try:
        return tuple(unit.name for unit in rt.select(target))
    except KeyError as error:
        raise RequestError(error.args[0]) from None


async def _handle(rt: Runtime, request: dict) -> dict | Watch:
    command = request.get("command")
    if not isinstance(command, str):
        raise RequestError(f"command must be a string: use {_COMMANDS}")
    if command == "status":
        return {"ok": True, "status": rt.status().to_json()}
    if command == "shutdown":
        rt.log.event("supervisor", "shutdown", "requested on the control socket")
        rt.shutdown_requested.set()
        return {"ok": True}
    if command == "health":
        capabilities = request.get("capabilities", [])
        if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
            raise RequestError("capabilities must be a list of capability names")
        return {"ok": True, "problems": rt.status().problems(tuple(capabilities))}
    if command == "events":
        events = rt.feed.events.last(_count(request, "count", EVENTS_KEPT))
        return {"ok": True, "events": [event.to_json() for event in events]}
    if command == "logs":
        units = _units(rt, command, request)
        lines = rt.feed.recent_lines(units, _count(request, "lines", LINES_KEPT))
        return {"ok": True, "units": list(units), "lines": [line.to_json() for line in lines]}
    if command == "watch":
        output = _units(rt, command, request, "output") if request.get("output") is not None else ()
        return Watch(
            status=_flag(request, "status", True),
            events=_flag(request, "events", True),
            backlog=_count(request, "backlog", EVENTS_KEPT),
            output=output,
            lines=_count(request, "lines", LINES_KEPT),
        )
    if command == "check":
        return await _check(rt, request)
    if command == "reload":
        graph = request.get("graph")
        if graph is not None and not isinstance(graph, str):
            raise RequestError("graph must be the path of a graph file, or absent for the one running")
        if rt.stopping:
            raise RequestError("the supervisor is stopping")
        return {"ok": True, **(await reload(rt, graph)).to_json()}
    if command not in ("start", "stop", "restart"):
        raise RequestError(f"unknown command {command!r}: use {_COMMANDS}")
    if rt.stopping:
        raise RequestError("the supervisor is stopping")
    units = [rt.units[name] for name in _units(rt, command, request)]
    if command == "restart":
        steps = await restart_rolling(rt, units)
        return {"ok": True, "units": [u.name for u in units], "steps": [step.to_json() for step in steps]}
    if command == "stop":
        async with trio.open_nursery() as nursery:
            for unit in units:
                nursery.start_soon(rt.stop_unit, unit)
    else:
        for unit in units:
            rt.request_start(unit)
    return {"ok": True, "units": [u.name for u in units]}


async def _check(rt: Runtime, request: dict) -> dict:
    """Run a capability's check now (coalesced with one already asked for) and answer with its
    result once it has run."""
    name = request.get("capability")
    if not isinstance(name, str):
        raise RequestError("check needs a capability: the name of one the graph provides")
    if rt.stopping:
        raise RequestError("the supervisor is stopping")
    try:
        unit, asked = rt.request_check(
            name, "supervisor check", f"{name} check asked for on the control socket"
        )
    except Unavailable as why:
        raise RequestError(str(why)) from None
    await asked.done.wait()
    if asked.result is None:
        raise RequestError(asked.abandoned)
    return {"ok": True, "capability": name, "unit": unit.name, "check": asked.result.to_json()}


async def _stream(rt: Runtime, stream: trio.SocketStream, watch: Watch) -> None:
    """Answer a watch, send its backlog, then push each change until the client leaves.

    Units and capabilities that changed are sent as they are when sent (one update however often
    they changed in between); after a loss every one of them is sent again."""
    watcher = Watcher(watch.status, watch.events, frozenset(watch.output))
    rt.feed.watchers.add(watcher)  # before anything is sent: no change can fall in between
    try:
        status = rt.status().to_json() if watch.status else None
        backlog = [update_to_json(event) for event in rt.feed.events.last(watch.backlog)]
        backlog += [update_to_json(line) for line in rt.feed.recent_lines(watch.output, watch.lines)]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_hang_up, stream, nursery.cancel_scope)
            await _send(stream, encode({"ok": True, "status": status, "output": list(watch.output)}))
            await _send(stream, b"".join(encode(message) for message in backlog))
            while True:
                await watcher.wait()
                await _send(stream, b"".join(_updates(rt, *watcher.take())))
    except BaseExceptionGroup as group:  # the nursery wraps what its body raises: unwrap it
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    finally:
        rt.feed.watchers.discard(watcher)


def _updates(
    rt: Runtime, lost: int, units: set[str], capabilities: set[str], lines: list[bytes]
) -> list[bytes]:
    if lost:
        units, capabilities = set(rt.units), set(rt.capabilities)
    updates = [encode(update_to_json(Lost(lost)))] if lost else []
    updates += [encode(update_to_json(rt.unit_status(rt.units[name]))) for name in units if name in rt.units]
    known = [rt.capabilities[name] for name in capabilities if name in rt.capabilities]  # a reload drops some
    updates += [encode(update_to_json(capability.snapshot())) for capability in known]
    return updates + lines


async def _hang_up(stream: trio.SocketStream, scope: trio.CancelScope) -> None:
    """End the watch when the client closes its side or sends anything at all."""
    try:
        await stream.receive_some(1)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    scope.cancel()


async def _answer(rt: Runtime, line: bytes) -> bytes | Watch:
    """The answer line to one request line, whatever happens while answering it.

    A connection's task that ends in an exception cancels ``serve_listeners``' nursery, and with
    it every client and the whole graph. So this is the one boundary every request goes through:
    a bad request is answered with what is wrong with it, and any other exception (a bug) with
    an internal error, logged. Cancellation is a BaseException and still goes through.
    """
    try:
        answer = await _handle(rt, _parse(line))
        return answer if isinstance(answer, Watch) else encode(answer)
    except RequestError as error:
        return encode({"ok": False, "error": str(error)})
    except Exception as error:
        rt.log.event("supervisor", "error", f"control request failed: {error!r:.300}")
        what = f"internal error ({type(error).__name__}): see the supervisor's log"
        return encode({"ok": False, "error": what})


async def _send(stream: trio.SocketStream, line: bytes) -> None:
    """Send one answer, or raise TooSlowError: a client that does not read is not waited for."""
    with trio.fail_after(SEND_TIMEOUT):
        await stream.send_all(line)


async def _converse(rt: Runtime, stream: trio.SocketStream, limiter: trio.CapacityLimiter) -> None:
    """Answer each line in order, reading the next chunk only once the last answer is sent."""
    try:
        limiter.acquire_nowait()
    except trio.WouldBlock:
        busy = f"too many control connections ({MAX_CLIENTS} open): try again later"
        await _send(stream, encode({"ok": False, "error": busy}))
        return
    try:
        pending = b""
        async for chunk in stream:
            *lines, pending = (pending + chunk).split(b"\n")
            too_long = len(pending) > LIMIT or any(len(line) > LIMIT for line in lines)
            for index, line in enumerate(itertools.takewhile(lambda line: len(line) <= LIMIT, lines)):
                answer = await _answer(rt, line)
                if isinstance(answer, Watch):
                    if index + 1 == len(lines) and not pending:
                        await _stream(rt, stream, answer)
                    else:
                        error = "nothing may follow a watch request on its connection: connection closed"
                        await _send(stream, encode({"ok": False, "error": error}))
                    return
                await _send(stream, answer)
            if too_long:
                error = f"request line longer than {LIMIT} bytes: connection closed"
                await _send(stream, encode({"ok": False, "error": error}))
                return
    finally:
        limiter.release()


async def _serve_client(rt: Runtime, stream: trio.SocketStream, limiter: trio.CapacityLimiter) -> None:
    """One connection; whatever goes wrong with it closes only this connection."""
    async with stream:
        try:
            await _converse(rt, stream, limiter)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        except trio.TooSlowError:
            rt.log.event(
                "supervisor",
                "dropped",
                f"a control client did not read its answer within {format_duration(SEND_TIMEOUT)}: "
                "connection closed",
            )
        except Exception as error:
            rt.log.event("supervisor", "error", f"control connection failed: {error!r:.300}")


async def serve_control(rt: Runtime, path: str, task_status=trio.TASK_STATUS_IGNORED) -> None:
    if os.path.exists(path):
        os.unlink(path)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    await sock.bind(path)
    os.chmod(path, 0o600)
    sock.listen(64)
    listener = trio.SocketListener(sock)
    limiter = trio.CapacityLimiter(MAX_CLIENTS)
    task_status.started()
    async with listener:
        await trio.serve_listeners(lambda stream: _serve_client(rt, stream, limiter), [listener])
