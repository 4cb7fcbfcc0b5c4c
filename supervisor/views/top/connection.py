"""The control protocol over asyncio, for ``top``: a watch that yields typed updates, and
one-off requests (stop, restart, logs) on connections of their own.

The same messages as every other client (:mod:`supervisor.protocol`, :mod:`supervisor.status`); only the transport is
asyncio's, because Textual runs on it. A watch holds no timer: it waits on its socket.
"""

import asyncio
import json
from collections.abc import AsyncIterator

from supervisor.protocol import encode, watch_request
from supervisor.status import GraphStatus, Update, update_from_json

LONGEST_LINE = 64 << 20
"""A status line grows with the graph (a few hundred bytes a unit); the supervisor is trusted."""


class Refused(Exception):
    """The supervisor answered ``ok: false``: the message says why."""


async def _open(path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_unix_connection(path, limit=LONGEST_LINE)


async def _answer(reader: asyncio.StreamReader) -> dict:
    line = await reader.readline()
    if not line:
        raise ConnectionError("the supervisor closed the connection")
    answer = json.loads(line)
    if not answer.get("ok"):
        raise Refused(answer.get("error", "request failed"))
    return answer


async def request(path: str, message: dict) -> dict:
    reader, writer = await _open(path)
    try:
        writer.write(encode(message))
        await writer.drain()
        return await _answer(reader)
    finally:
        writer.close()


async def watch(path: str, **options) -> AsyncIterator[Update]:
    """The status (when asked for), then every update, until the supervisor closes the connection
    (ConnectionError) or the caller stops iterating (the connection is closed)."""
    reader, writer = await _open(path)
    try:
        writer.write(encode(watch_request(**options)))
        await writer.drain()
        answer = await _answer(reader)
        if answer["status"] is not None:
            yield GraphStatus.from_json(answer["status"])
        while line := await reader.readline():
            yield update_from_json(json.loads(line))
        raise ConnectionError("the supervisor closed the connection")
    finally:
        writer.close()
