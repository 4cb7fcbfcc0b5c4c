"""The control socket: ``RUNTIME_DIR/control.sock``, a UNIX stream socket (mode 0600).

Protocol: JSON lines. The client sends one object a line, ``{"command": C, "target": T}``, and
gets one object a line back, in order, on the same connection:

- ``{"command": "status"}`` → ``{"ok": true, "status": {"services": [...], "capabilities": [...]}}``
- ``{"command": "start" | "stop" | "restart", "target": "svc" | "svc@2"}`` → ``{"ok": true, "units": [...]}``
  once done (``stop`` answers when the units have stopped, ``restart`` when they were stopped
  and asked to start again).
- ``{"command": "shutdown"}`` → ``{"ok": true}``, then the supervisor stops the graph and exits.

Anything else gets ``{"ok": false, "error": "..."}``. docs/control-protocol.md has the details;
``supervisor.runtime.client`` is the client.

Clients are not trusted to behave: every line is answered or closes its own connection, and what
one client can hold is bounded (a line, one answer in flight for SEND_TIMEOUT, MAX_CLIENTS
connections), so no client can stop the supervisor, block it, or make it buffer without end.
"""

import itertools
import json
import os
import socket

import trio

from supervisor.graph.durations import format_duration
from supervisor.runtime.client import LIMIT
from supervisor.runtime.core import Runtime

SEND_TIMEOUT = 5.0
"""How long an answer may wait for its client to read it; then the connection is closed."""
MAX_CLIENTS = 64
"""Connections served at once; one more is told so and closed (each costs a task and an fd)."""
COMMANDS = "status, start, stop, restart or shutdown"


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


async def _handle(rt: Runtime, request: dict) -> dict:
    command = request.get("command")
    if not isinstance(command, str):
        raise RequestError(f"command must be a string: use {COMMANDS}")
    if command == "status":
        return {"ok": True, "status": rt.status()}
    if command == "shutdown":
        rt.log.event("supervisor", "shutdown", "requested on the control socket")
        rt.shutdown_requested.set()
        return {"ok": True}
    if command not in ("start", "stop", "restart"):
        raise RequestError(f"unknown command {command!r}: use {COMMANDS}")
    target = request.get("target")
    if not isinstance(target, str):
        raise RequestError(f"{command} needs a target: a service name, or one replica as NAME@N")
    if rt.stopping:
        raise RequestError("the supervisor is stopping")
    try:
        units = rt.select(target)
    except KeyError as error:
        raise RequestError(error.args[0]) from None
    if command in ("stop", "restart"):
        async with trio.open_nursery() as nursery:
            for unit in units:
                nursery.start_soon(rt.stop_unit, unit)
    if command in ("start", "restart"):
        for unit in units:
            rt.request_start(unit)
    return {"ok": True, "units": [u.name for u in units]}


def _encode(answer: dict) -> bytes:
    return json.dumps(answer).encode() + b"\n"


async def _answer(rt: Runtime, line: bytes) -> bytes:
    """The answer line to one request line, whatever happens while answering it.

    A connection's task that ends in an exception cancels ``serve_listeners``' nursery, and with
    it every client and the whole graph. So this is the one boundary every request goes through:
    a bad request is answered with what is wrong with it, and any other exception (a bug) with
    an internal error, logged. Cancellation is a BaseException and still goes through.
    """
    try:
        return _encode(await _handle(rt, _parse(line)))
    except RequestError as error:
        return _encode({"ok": False, "error": str(error)})
    except Exception as error:
        rt.log.event("supervisor", "error", f"control request failed: {error!r:.300}")
        what = f"internal error ({type(error).__name__}): see the supervisor's log"
        return _encode({"ok": False, "error": what})


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
        await _send(stream, _encode({"ok": False, "error": busy}))
        return
    try:
        pending = b""
        async for chunk in stream:
            *lines, pending = (pending + chunk).split(b"\n")
            too_long = len(pending) > LIMIT or any(len(line) > LIMIT for line in lines)
            for line in itertools.takewhile(lambda line: len(line) <= LIMIT, lines):
                await _send(stream, await _answer(rt, line))
            if too_long:
                error = f"request line longer than {LIMIT} bytes: connection closed"
                await _send(stream, _encode({"ok": False, "error": error}))
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
