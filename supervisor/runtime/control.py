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


async def _serve_client(rt: Runtime, stream: trio.SocketStream) -> None:
    async with stream:
        pending = b""
        try:
            async for chunk in stream:
                pending += chunk
                if len(pending) > LIMIT:
                    return
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    try:
                        request = json.loads(line)
                        if not isinstance(request, dict):
                            raise ValueError("not an object")
                    except ValueError as error:
                        answer = {"ok": False, "error": f"not a JSON object: {error}"}
                    else:
                        answer = await _handle(rt, request)
                    await stream.send_all(json.dumps(answer).encode() + b"\n")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return


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
