"""A response body read from aiohttp, as the httpx2 stream the client reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import httpx2

from agentkit.model.transport.aiohttp_errors import as_httpx2


class ResponseBody(httpx2.AsyncByteStream):
    """The body of one response; its connection goes back to the pool once read to the end.

    With a `deadline` (loop time) the whole body must arrive before it, else only each
    read is bounded (aiohttp's read timeout: silence between bytes), as an event stream
    may go on for minutes.
    """

    def __init__(self, response: aiohttp.ClientResponse, deadline: float | None) -> None:
        self._response = response
        self._deadline = deadline

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        deadline = self._deadline
        try:
            while True:
                if deadline is None or content.is_eof():  # all there: nothing to wait for
                    chunk = await content.readany()
                else:
                    async with asyncio.timeout_at(deadline):
                        chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except (aiohttp.ClientError, OSError) as exc:
            # TimeoutError is an OSError; closing drops a connection left mid-message
            self._response.close()
            raise as_httpx2(exc) from exc

    async def aclose(self) -> None:
        # read to the end, aiohttp has already put the connection back; else it closes it
        self._response.close()
