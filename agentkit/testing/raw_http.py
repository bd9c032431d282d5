"""A raw asyncio server on 127.0.0.1 that writes whatever bytes a test scripts.

Transport tests use it to answer as no real HTTP server would: planted responses on idle
connections, broken framing, headers without end, answers that drip a byte at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

Handler = Callable[["Connection"], Awaitable[None]]


@dataclass
class Connection:
    """One accepted connection: read requests from it, write raw bytes to it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    server: RawServer

    async def request(self) -> bytes:
        """The next request (head and Content-Length body); b"" once the client is gone."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return b""
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        request = head + await self.reader.readexactly(length)
        self.server.requests.append(request)
        return request

    async def write(self, data: bytes) -> None:
        """Write `data` and wait until the socket took it."""
        self.writer.write(data)
        await self.writer.drain()

    async def drip(self, data: bytes, every: float) -> None:
        """Write `data` one byte at a time, `every` seconds apart."""
        for index in range(len(data)):
            await self.write(data[index : index + 1])
            await asyncio.sleep(every)


@dataclass
class RawServer:
    """Counts connections and keeps every request it read."""

    handler: Handler
    host: str = "127.0.0.1"
    tls: bool = False
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(Connection(reader, writer, self))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @property
    def url(self) -> str:
        """http(s)://host:port of the server."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"


@contextlib.asynccontextmanager
async def serving(
    handler: Handler, *, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> AsyncIterator[RawServer]:
    """A RawServer on 127.0.0.1 for the duration of the block (`host` names it in URLs)."""
    raw = RawServer(handler, host=host, tls=tls is not None)
    raw.server = await asyncio.start_server(raw._serve, "127.0.0.1", 0, ssl=tls)
    raw.port = raw.server.sockets[0].getsockname()[1]
    try:
        yield raw
    finally:
        raw.server.close()


def reply(body: bytes, *headers: bytes, status: bytes = b"200 OK") -> bytes:
    """A well-formed HTTP/1.1 answer with a Content-Length."""
    extra = b"".join(h + b"\r\n" for h in headers)
    return b"HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n%s" % (status, len(body), extra, body)


def responses_body(text: str) -> bytes:
    """A minimal completed `/v1/responses` answer whose output text is `text`."""
    return json.dumps(
        {
            "id": "3f1c",
            "object": "response",
            "model": "grok-4",
            "status": "completed",
            "output": [
                {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            ],
            "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
        }
    ).encode()


async def outcome(transport: httpx2.AsyncBaseTransport, url: str, **kwargs: Any) -> str:
    """`"<status> <text>"` of a GET, or the httpx2 exception's class name."""
    kwargs.setdefault("timeout", 5.0)
    async with httpx2.AsyncClient(transport=transport) as http:
        try:
            response = await http.get(url, **kwargs)
        except httpx2.HTTPError as exc:
            return type(exc).__name__
        return f"{response.status_code} {response.text}".strip()
