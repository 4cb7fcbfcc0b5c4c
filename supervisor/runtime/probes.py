"""One run of a probe: does what the service claims hold right now?

Each run returns a ProbeResult with the output or error that explains it, which the events and
``status`` show. ``notify`` is not polled: the unit's sd_notify messages answer it (see notify).
"""

import functools
import os
import signal
import ssl

import attrs
import trio

from supervisor.graph.addresses import AddressError, host_port
from supervisor.graph.durations import format_duration
from supervisor.graph.model import HttpGet
from supervisor.runtime.children import Children, SpawnError
from supervisor.runtime.launch import Launch

_OUTPUT_LIMIT = 400


@attrs.frozen
class ProbeResult:
    ok: bool
    output: str = ""


async def probe_once(kind: str, target, timeout: float, children: Children, launch: Launch) -> ProbeResult:
    """Run the probe once, within ``timeout``; a hang is a failure that says so. An exec probe
    runs as the service's ``launch`` does: its environment, directory and credentials."""
    if timeout <= 0:  # a wake-up later than its deadline (a loaded machine): no time left to try
        return ProbeResult(False, "its timeout ran out before it could run")
    if kind == "http":
        import httpx  # noqa: F401  loaded on first use (~50 ms), before the timeout starts counting
    with trio.move_on_after(timeout):
        try:
            return await PROBES[kind](target, children, launch)
        except OSError as error:
            return ProbeResult(False, error.strerror or str(error))
        except AddressError as error:
            return ProbeResult(False, str(error))
    return ProbeResult(False, f"no answer within {format_duration(timeout)}")


async def _exec(target, children: Children, launch: Launch) -> ProbeResult:
    try:
        probe = attrs.evolve(launch, command=target, listen_fds=(), listen_names=())
        process = await children.spawn(probe, merge_stderr=True)
    except SpawnError as error:
        return ProbeResult(False, str(error))
    output = bytearray()
    try:
        async for chunk in process.stdout:
            output = (output + chunk)[-_OUTPUT_LIMIT * 4 :]
        code = await process.wait()
    finally:
        children.signal_group(process.pid, signal.SIGKILL)  # a hang, or what it left behind, goes with it
        await children.finish(process)
    text = output.decode(errors="replace").strip()[-_OUTPUT_LIMIT:]
    return ProbeResult(code == 0, text or f"exit {code}")


async def _tcp(target, children, launch) -> ProbeResult:
    stream = await trio.open_tcp_stream(*host_port(target))
    await stream.aclose()
    return ProbeResult(True, f"connected to {target}")


async def _unix(target, children, launch) -> ProbeResult:
    stream = await trio.open_unix_socket(target)
    await stream.aclose()
    return ProbeResult(True, f"connected to {target}")


async def _http(target: HttpGet, children, launch) -> ProbeResult:
    """GET with httpx (on trio through anyio): the status line and headers only, the body is
    never read; no proxy from the environment, no redirect followed (a 3xx passes by default)."""
    import httpx  # only a graph with an http probe pays for it: the runtime stays small

    tls = _insecure_tls() if target.insecure else _verified_tls()
    try:
        async with httpx.AsyncClient(verify=tls, trust_env=False, timeout=None) as client:
            async with client.stream("GET", target.url, headers=dict(target.headers)) as response:
                code, reason = response.status_code, response.reason_phrase
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        return ProbeResult(False, _reason(error))
    answer = f"HTTP {code} {reason}".rstrip()
    if target.passes(code):
        return ProbeResult(True, answer)
    expected = ", ".join(map(str, target.status)) if target.status else "a 2xx or 3xx status"
    return ProbeResult(False, f"{answer}, expected {expected}")


def _reason(error: BaseException) -> str:
    """The first error in the chain that says something: httpx's own are often empty, and the
    TLS one behind them says why (``certificate verify failed: self-signed certificate``)."""
    seen: BaseException | None = error
    for _ in range(10):  # a chain is short; bound it all the same
        if seen is None:
            break
        if str(seen):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return type(error).__name__


@functools.cache
def _verified_tls() -> ssl.SSLContext:
    """The system's certificate authorities, loaded once (each load reads every certificate)."""
    return ssl.create_default_context()


@functools.cache
def _insecure_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _file(target, children, launch) -> ProbeResult:
    if os.path.exists(target):
        return ProbeResult(True, f"{target} exists")
    return ProbeResult(False, f"{target} does not exist")


PROBES = {"exec": _exec, "tcp": _tcp, "unix": _unix, "http": _http, "file": _file}
"""How to run each polled kind of :data:`supervisor.graph.schema.PROBE_KINDS` (all but notify)."""
