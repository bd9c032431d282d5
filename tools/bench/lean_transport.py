"""A lean HTTP/1.1 keep-alive transport for httpx2, built for many concurrent runs.

httpx2's default pool re-examines every connection on every request event, so a burst
of n concurrent requests costs O(n^2) CPU (measured: ~13 ms of CPU per run at 1,000
concurrent runs). This transport keeps one stack of idle connections per origin: taking
and returning a connection is O(1). It speaks what the xAI API needs and nothing more:
HTTP/1.1, TLS, Content-Length, chunked and close-delimited bodies, keep-alive.

Failures surface as httpx2's own exceptions, so callers map them as they would
httpx2's default transport's.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx2

MAX_HEADER_BYTES = 64 * 1024
KEEPALIVE_SECONDS = 5.0
_READ_SIZE = 64 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


@dataclass(eq=False, slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    origin: tuple[str, str, int]
    idle_since: float = 0.0

    def usable(self, now: float) -> bool:
        return not self.reader.at_eof() and now - self.idle_since < KEEPALIVE_SECONDS

    def close(self) -> None:
        self.writer.close()


@dataclass(slots=True)
class _Timeouts:
    connect: float | None = None
    read: float | None = None
    write: float | None = None

    @classmethod
    def of(cls, request: httpx2.Request) -> _Timeouts:
        given: dict[str, Any] = request.extensions.get("timeout") or {}
        return cls(given.get("connect"), given.get("read"), given.get("write"))


@dataclass(slots=True)
class _Head:
    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    keep_alive: bool = True

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def default_ssl_context() -> ssl.SSLContext:
    """The same verified TLS settings httpx2's default transport uses."""
    return httpx2.create_ssl_context()


class LeanTransport(httpx2.AsyncBaseTransport):
    """An O(1) keep-alive pool; see the module docstring for why it exists."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._closed:
            raise httpx2.TransportError("the transport is closed")
        body = await request.aread()
        timeouts = _Timeouts.of(request)
        connection = await self._acquire(request.url, timeouts)
        # no silent resend on a failed kept-alive connection: the server may have acted on
        # the request; the client's counted, backed-off retries decide
        head = await self._exchange(connection, request, body, timeouts)
        stream = _Body(self, connection, head, timeouts.read, request.method == "HEAD")
        return httpx2.Response(head.status, headers=head.headers, stream=stream, request=request)

    async def aclose(self) -> None:
        self._closed = True
        for stack in self._idle.values():
            for connection in stack:
                connection.close()
        self._idle.clear()

    # --- connections ---------------------------------------------------------------------

    async def _acquire(self, url: httpx2.URL, timeouts: _Timeouts) -> _Connection:
        # raw_host, the IDNA 2008 form httpx2 encoded: url.host is Unicode (faß.de), which
        # the stdlib's IDNA 2003 codec would resolve and verify as another host (fass.de)
        host = url.raw_host.decode("ascii")
        origin = (url.scheme, host, url.port or (443 if url.scheme == "https" else 80))
        stack = self._idle.get(origin)
        now = asyncio.get_running_loop().time()
        while stack:
            connection = stack.pop()
            if connection.usable(now):
                return connection
            connection.close()
        return await self._connect(origin, timeouts)

    async def _connect(self, origin: tuple[str, str, int], timeouts: _Timeouts) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = default_ssl_context()
            context = self._ssl
        try:
            async with asyncio.timeout(timeouts.connect):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context else None,
                    limit=MAX_HEADER_BYTES,
                )
        except TimeoutError as exc:
            raise httpx2.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx2.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        return _Connection(reader, writer, origin)

    def release(self, connection: _Connection) -> None:
        if self._closed:
            connection.close()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        self._idle.setdefault(connection.origin, []).append(connection)

    # --- one exchange --------------------------------------------------------------------

    async def _exchange(
        self, connection: _Connection, request: httpx2.Request, body: bytes, timeouts: _Timeouts
    ) -> _Head:
        lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
        lines += [b"%s: %s" % pair for pair in request.headers.raw]
        try:
            connection.writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
            async with asyncio.timeout(timeouts.write):
                await connection.writer.drain()
        except TimeoutError as exc:
            connection.close()
            raise httpx2.WriteTimeout("sending the request timed out") from exc
        except OSError as exc:
            connection.close()
            raise httpx2.WriteError(f"sending the request failed: {exc}") from exc
        try:
            async with asyncio.timeout(timeouts.read):
                return await _read_head(connection.reader)
        except TimeoutError as exc:
            connection.close()
            raise httpx2.ReadTimeout("waiting for the response timed out") from exc
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            connection.close()
            raise httpx2.RemoteProtocolError(f"bad or missing response: {exc!r}") from exc


async def _read_head(reader: asyncio.StreamReader) -> _Head:
    while True:
        status_line = await reader.readuntil(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ValueError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        head = _Head(int(parts[1]), keep_alive=parts[0] == b"HTTP/1.1")
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            head.headers.append((name.strip(), value.strip()))
        if not 100 <= head.status < 200:
            break  # an interim 1xx answer is followed by the real one
    connection = (head.header(b"connection") or b"").lower()
    if connection == b"close":
        head.keep_alive = False
    elif connection == b"keep-alive":
        head.keep_alive = True
    return head


class _Body(httpx2.AsyncByteStream):
    """The response body; hands the connection back once it was read to the end."""

    def __init__(
        self,
        transport: LeanTransport,
        connection: _Connection,
        head: _Head,
        read_timeout: float | None,
        head_request: bool,
    ) -> None:
        self._transport = transport
        self._connection: _Connection | None = connection
        self._head = head
        self._timeout = read_timeout
        self._empty = head_request or head.status in _NO_BODY_STATUS

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            raise httpx2.StreamClosed()
        try:
            async for chunk in self._chunks(connection.reader):
                yield chunk
        except TimeoutError as exc:
            await self.aclose()
            raise httpx2.ReadTimeout("reading the response timed out") from exc
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            await self.aclose()
            raise httpx2.RemoteProtocolError(f"the response ended early: {exc!r}") from exc
        self._done()

    async def _chunks(self, reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
        if self._empty:
            return
        length = self._head.header(b"content-length")
        chunked = b"chunked" in (self._head.header(b"transfer-encoding") or b"").lower()
        if chunked:
            while size := int((await self._read(reader.readuntil(b"\r\n"))).split(b";")[0], 16):
                yield await self._read(reader.readexactly(size))
                await self._read(reader.readexactly(2))
            while await self._read(reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
        elif length is not None:
            remaining = int(length)
            while remaining:
                data = await self._read(reader.read(min(remaining, _READ_SIZE)))
                if not data:
                    raise asyncio.IncompleteReadError(b"", remaining)
                remaining -= len(data)
                yield data
        else:
            self._head.keep_alive = False  # the body ends when the connection does
            while data := await self._read(reader.read(_READ_SIZE)):
                yield data

    async def _read(self, awaitable: Any) -> bytes:
        async with asyncio.timeout(self._timeout):
            result: bytes = await awaitable
            return result

    def _done(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._head.keep_alive:
            self._transport.release(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()  # not read to the end: the connection's state is unknown
