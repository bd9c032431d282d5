"""aiohttp's request and response classes, each with one rule aiohttp leaves out.

- A kept-alive connection that received bytes while idle is never written to: aiohttp
  would parse those bytes (a planted ``200``, a ``408`` before a close) as the answer to
  the next request sent on it.
- The response head must arrive within the read timeout as a whole, from the moment the
  request was handed to the socket: aiohttp's read timeout restarts on every byte, so a
  server that drips its head never times out.
"""

from __future__ import annotations

import asyncio
import weakref

import aiohttp
from aiohttp.client_proto import ResponseHandler
from aiohttp.connector import Connection


class UnsolicitedBytes(Exception):
    """The connection holds bytes no request asked for; nothing was sent on it."""

    def __init__(self, *, reused: bool) -> None:
        super().__init__("the server sent bytes on an idle connection")
        self.reused = reused


# connections a request has been written to: only those may come back from the pool
_WRITTEN: weakref.WeakSet[ResponseHandler] = weakref.WeakSet()


class StrictRequest(aiohttp.ClientRequest):
    """Refuses to write to a connection that holds unread bytes."""

    async def send(self, conn: Connection) -> aiohttp.ClientResponse:
        protocol = conn.protocol
        if protocol is not None:
            # should_close: a parsed message, unparsed bytes or an error left by the server
            if protocol.should_close:
                raise UnsolicitedBytes(reused=protocol in _WRITTEN)
            _WRITTEN.add(protocol)
        return await super().send(conn)


class StrictResponse(aiohttp.ClientResponse):
    """Reads its head under one deadline, kept for the body (`deadline`, loop time)."""

    deadline: float | None = None

    async def start(self, connection: Connection) -> aiohttp.ClientResponse:
        protocol = connection.protocol
        timeout = protocol.read_timeout if protocol is not None else None
        if timeout is None:
            return await super().start(connection)
        self.deadline = asyncio.get_running_loop().time() + timeout
        async with asyncio.timeout_at(self.deadline):
            return await super().start(connection)
