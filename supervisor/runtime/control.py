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
"""

import json
import os
import socket

import trio

from supervisor.runtime.client import LIMIT
from supervisor.runtime.core import Runtime


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
    if command == "status":
        return {"ok": True, "status": rt.status()}
    if command == "shutdown":
        rt.log.event("supervisor", "shutdown", "requested on the control socket")
        rt.shutdown_requested.set()
        return {"ok": True}
    if command not in ("start", "stop", "restart"):
        return {
            "ok": False,
            "error": f"unknown command {command!r}: use status, start, stop, restart or shutdown",
        }
    if rt.stopping:
        return {"ok": False, "error": "the supervisor is stopping"}
    try:
        units = rt.select(str(request.get("target")))
    except KeyError as error:
        return {"ok": False, "error": error.args[0]}
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


async def _serve_client(rt: Runtime, stream: trio.SocketStream) -> None:
    """Answer one connection's requests in order; whatever goes wrong closes only this connection."""
    async with stream:
        pending = b""
        try:
            async for chunk in stream:
                pending += chunk
                if len(pending) > LIMIT:
                    return
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    await stream.send_all(await _answer(rt, line))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
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
    task_status.started()
    async with listener:
        await trio.serve_listeners(lambda stream: _serve_client(rt, stream), [listener])
