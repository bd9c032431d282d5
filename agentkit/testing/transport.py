"""The fake xAI server as an httpx2 transport: no sockets, same behaviour as over loopback.

A dropped connection raises ``httpx2.RemoteProtocolError`` and a delay longer than the
request's read timeout raises ``httpx2.ReadTimeout``, as the network transport would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx2

from agentkit.testing.exchange import Handler, HTTPReply, HTTPRequest


class _ReplyStream(httpx2.AsyncByteStream):
    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk

    async def aclose(self) -> None:
        close = getattr(self._chunks, "aclose", None)
        if close is not None:
            await close()


class FakeTransport(httpx2.AsyncBaseTransport):
    """Answers every request with ``handler`` (a `FakeXAI`'s ``handle``), in-process.

    Example:
        >>> client = httpx2.AsyncClient(transport=fake.transport(), base_url="http://fake-xai/v1")
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Hand the request to the fake and turn its reply into an httpx2 response."""
        body = await request.aread()
        exchange = HTTPRequest(
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            query=request.url.query.decode("ascii", "replace"),
        )
        reply = await self._reply(exchange, request)
        if reply.drop:
            raise httpx2.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if reply.stream is not None:
            return httpx2.Response(
                reply.status, headers=reply.headers, stream=_ReplyStream(reply.stream)
            )
        return httpx2.Response(reply.status, headers=reply.headers, content=reply.body)

    async def _reply(self, exchange: HTTPRequest, request: httpx2.Request) -> HTTPReply:
        timeouts = request.extensions.get("timeout") or {}
        read_timeout = timeouts.get("read") if isinstance(timeouts, dict) else None
        try:
            async with asyncio.timeout(read_timeout):
                return await self.handler(exchange)
        except TimeoutError as exc:
            raise httpx2.ReadTimeout("Timed out waiting for the response", request=request) from exc
