"""The fake xAI server over real loopback HTTP/1.1, on asyncio streams.

A small, strict HTTP/1.1 implementation: keep-alive, Content-Length or chunked request
bodies, Content-Length replies, chunked SSE replies (close-delimited for HTTP/1.0). The
behaviour is `FakeXAI.handle`, the same as the in-process transport's.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from agentkit.errors import ConfigError
from agentkit.testing.exchange import HTTPReply, HTTPRequest
from agentkit.testing.fake import FakeXAI
from agentkit.testing.replies import error_reply

DEFAULT_BACKLOG = 4096
MAX_HEAD_BYTES = 64 * 1024


class _BadRequest(Exception):
    """Internal signal: the bytes received are not an HTTP request we can answer."""


class FakeServer:
    """`FakeXAI` listening on a TCP port.

    Example:
        >>> server = FakeServer(FakeXAI(), port=0)
        >>> await server.start()
        >>> server.base_url
        'http://127.0.0.1:54321/v1'
    """

    def __init__(
        self,
        fake: FakeXAI,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        backlog: int = DEFAULT_BACKLOG,
    ) -> None:
        self.fake = fake
        self.host = host
        self.port = port
        self.backlog = backlog
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._closing = False

    @property
    def base_url(self) -> str:
        """The API base URL, ending in ``/v1``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    async def start(self) -> None:
        """Start listening; ``port`` holds the bound port afterwards."""
        try:
            self._server = await asyncio.start_server(
                self._connection, self.host, self.port, backlog=self.backlog, limit=MAX_HEAD_BYTES
            )
        except OSError as exc:
            raise ConfigError(
                f"fake xAI server cannot listen on {self.host}:{self.port}: {exc}"
            ) from exc
        self.port = self._server.sockets[0].getsockname()[1]

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        """Stop listening and close every open connection."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while await self._exchange(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to answer
        except asyncio.CancelledError:
            # close() ends kept-alive connections this way; the task then ends as finished:
            # asyncio's stream callback reports a cancelled handler task as an error
            if not self._closing:
                raise
        finally:
            self._connections.discard(task)
            writer.close()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; True when the connection stays open for another."""
        try:
            parsed = await _read_request(reader, writer)
        except _BadRequest as exc:
            await _write_reply(writer, error_reply(400, str(exc)), keep_alive=False, chunked=False)
            return False
        if parsed is None:
            return False
        request, keep_alive, http11 = parsed
        reply = await self.fake.handle(request)
        if reply.drop:
            return False
        chunked = reply.stream is not None and http11
        keep_alive = keep_alive and (reply.stream is None or http11)
        await _write_reply(writer, reply, keep_alive=keep_alive, chunked=chunked)
        return keep_alive


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[HTTPRequest, bool, bool] | None:
    """The next request, whether to keep the connection, and whether it is HTTP/1.1."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _BadRequest("incomplete request head") from exc
        return None
    except asyncio.LimitOverrunError as exc:
        raise _BadRequest("request head too large") from exc
    lines = head[:-4].decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ")
    except ValueError as exc:
        raise _BadRequest(f"malformed request line {lines[0]!r}") from exc
    headers = _headers(lines[1:])
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = await _read_body(reader, headers)
    connection = headers.get("connection", "").lower()
    http11 = version == "HTTP/1.1"
    keep_alive = connection != "close" if http11 else connection == "keep-alive"
    path, _, query = target.partition("?")
    if path.startswith(("http://", "https://")):
        path = "/" + path.split("/", 3)[-1] if path.count("/") >= 3 else "/"
    return HTTPRequest(method, path, headers, body, query), keep_alive, http11


def _headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadRequest(f"malformed header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader)
    length = headers.get("content-length")
    if not length:
        return b""
    try:
        size = int(length)
    except ValueError as exc:
        raise _BadRequest(f"bad Content-Length {length!r}") from exc
    return await reader.readexactly(size)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise _BadRequest("bad chunk size") from exc
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers are ignored
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def _write_reply(
    writer: asyncio.StreamWriter, reply: HTTPReply, *, keep_alive: bool, chunked: bool
) -> None:
    lines = [f"HTTP/1.1 {reply.status} {_reason(reply.status)}"]
    lines += [f"{name}: {value}" for name, value in reply.headers]
    if reply.stream is None:
        lines.append(f"content-length: {len(reply.body)}")
    elif chunked:
        lines.append("transfer-encoding: chunked")
    lines.append("connection: keep-alive" if keep_alive else "connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if reply.stream is None:
        writer.write(head + reply.body)
        await writer.drain()
        return
    writer.write(head)
    async for chunk in reply.stream:
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        await writer.drain()
    if chunked:
        writer.write(b"0\r\n\r\n")
    await writer.drain()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Site is overloaded" if status == 529 else "Unknown"


@contextlib.contextmanager
def serve_in_thread(
    fake: FakeXAI, host: str = "127.0.0.1", port: int = 0, *, backlog: int = DEFAULT_BACKLOG
) -> Iterator[FakeServer]:
    """Serve ``fake`` over loopback HTTP from a background thread while the block runs.

    Example:
        >>> with serve_in_thread(FakeXAI()) as server:
        ...     httpx2.get(server.base_url + "/models")
    """
    server = FakeServer(fake, host, port, backlog=backlog)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failures: list[BaseException] = []
    thread = threading.Thread(
        target=_run_loop, args=(loop, server, ready, failures), name="fake-xai", daemon=True
    )
    thread.start()
    ready.wait()
    if failures:
        thread.join()
        raise failures[0]
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


def _run_loop(
    loop: asyncio.AbstractEventLoop,
    server: FakeServer,
    ready: threading.Event,
    failures: list[BaseException],
) -> None:
    asyncio.set_event_loop(loop)
    try:
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:
            failures.append(exc)
            return
        finally:
            ready.set()
        loop.run_forever()
        loop.run_until_complete(server.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
