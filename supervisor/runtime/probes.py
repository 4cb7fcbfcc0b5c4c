"""One run of a probe: does what the service claims hold right now?

Each run returns a ProbeResult with the output or error that explains it, which the events and
``status`` show. ``notify`` is not polled: the unit's sd_notify messages answer it (see notify).
"""

import os
import signal
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs
import trio

from supervisor.graph.addresses import AddressError, host_port
from supervisor.graph.durations import format_duration
from supervisor.runtime.children import Children, SpawnError, signal_group
from supervisor.runtime.launch import Launch

_OUTPUT_LIMIT = 400


@attrs.frozen
class ProbeResult:
    ok: bool
    output: str = ""


async def probe_once(
    kind: str, target, timeout: float, children: Children, env: Mapping[str, str]
) -> ProbeResult:
    """Run the probe once, within ``timeout``; a hang is a failure that says so."""
    with trio.move_on_after(timeout):
        try:
            return await PROBES[kind](target, children, env)
        except OSError as error:
            return ProbeResult(False, error.strerror or str(error))
        except AddressError as error:
            return ProbeResult(False, str(error))
    return ProbeResult(False, f"no answer within {format_duration(timeout)}")


async def _exec(target, children: Children, env) -> ProbeResult:
    try:
        process = await children.spawn(Launch(command=target, env=env), merge_stderr=True)
    except SpawnError as error:
        return ProbeResult(False, str(error))
    output = bytearray()
    try:
        async for chunk in process.stdout:
            output = (output + chunk)[-_OUTPUT_LIMIT * 4 :]
        code = await process.wait()
    finally:
        signal_group(process.pid, signal.SIGKILL)  # a hang, or what it left behind, goes with it
        with trio.CancelScope(shield=True):
            await process.wait()
            await process.stdout.aclose()
        children.reaped(process)
    text = output.decode(errors="replace").strip()[-_OUTPUT_LIMIT:]
    return ProbeResult(code == 0, text or f"exit {code}")


async def _tcp(target, children, env) -> ProbeResult:
    stream = await trio.open_tcp_stream(*host_port(target))
    await stream.aclose()
    return ProbeResult(True, f"connected to {target}")


async def _unix(target, children, env) -> ProbeResult:
    stream = await trio.open_unix_socket(target)
    await stream.aclose()
    return ProbeResult(True, f"connected to {target}")


async def _http(target, children, env) -> ProbeResult:
    url = urlsplit(target)
    port = url.port or (443 if url.scheme == "https" else 80)
    host = url.hostname or "localhost"
    if url.scheme == "https":
        stream = await trio.open_ssl_over_tcp_stream(host, port)
    else:
        stream = await trio.open_tcp_stream(host, port)
    async with stream:
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        await stream.send_all(f"GET {path} HTTP/1.0\r\nHost: {url.netloc}\r\n\r\n".encode())
        head = b""
        while b"\r\n" not in head:
            chunk = await stream.receive_some(1024)
            if not chunk:
                break
            head += chunk
    status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = status_line.split()
    code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return ProbeResult(200 <= code < 400, status_line or "no HTTP answer")


async def _file(target, children, env) -> ProbeResult:
    if os.path.exists(target):
        return ProbeResult(True, f"{target} exists")
    return ProbeResult(False, f"{target} does not exist")


PROBES = {"exec": _exec, "tcp": _tcp, "unix": _unix, "http": _http, "file": _file}
"""How to run each polled kind of :data:`supervisor.graph.schema.PROBE_KINDS` (all but notify)."""
