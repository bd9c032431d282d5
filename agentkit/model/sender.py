"""How one attempt reaches the wire: through a caller's httpx2 client, or straight to a transport.

A client the caller passed (`XAIClient(http=...)`) is used whole: its base headers,
cookies, auth and event hooks apply. When XAIClient builds its own client it configures
none of those, so the client layer would only rebuild the URL and merge headers on every
request (about a third of the per-request cost); it hands the request to the transport
itself instead, with the same timeouts in the same request extensions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import httpx2


class Sender(Protocol):
    """Sends one POST and yields its response, closed when the block ends."""

    def post(
        self, content: bytes, headers: dict[str, str], limits: httpx2.Timeout, *, stream: bool
    ) -> AbstractAsyncContextManager[httpx2.Response]:
        """POST `content`; a plain answer is read whole before the block starts."""
        ...

    async def aclose(self) -> None:
        """Release the connections this sender owns."""
        ...

    async def release(self) -> None:
        """Close the connections of the running event loop; sending later opens new ones."""
        ...


class ClientSender:
    """Through a caller's `httpx2.AsyncClient`, with everything it was configured with."""

    def __init__(self, http: httpx2.AsyncClient, url: str) -> None:
        self._http = http
        self._url = url

    @asynccontextmanager
    async def post(
        self, content: bytes, headers: dict[str, str], limits: httpx2.Timeout, *, stream: bool
    ) -> AsyncIterator[httpx2.Response]:
        request = self._http.build_request(
            "POST", self._url, content=content, headers=headers, timeout=limits
        )
        response = await self._http.send(request, stream=stream)
        try:
            yield response
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        """Nothing to release: the caller's client stays open for the caller to close."""

    async def release(self) -> None:
        """Nothing to release: the caller's client is the caller's."""


class TransportSender:
    """Straight to an `httpx2.AsyncBaseTransport`, the URL parsed once."""

    def __init__(self, transport: httpx2.AsyncBaseTransport, url: str) -> None:
        self._transport = transport
        self._url = httpx2.URL(url)

    @asynccontextmanager
    async def post(
        self, content: bytes, headers: dict[str, str], limits: httpx2.Timeout, *, stream: bool
    ) -> AsyncIterator[httpx2.Response]:
        request = httpx2.Request(
            "POST",
            self._url,
            headers=headers,
            content=content,
            extensions={"timeout": limits.as_dict()},
        )
        response = await self._transport.handle_async_request(request)
        try:
            if not stream:
                await response.aread()
            yield response
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def release(self) -> None:
        release = getattr(self._transport, "release", None)
        if release is not None:
            await release()
