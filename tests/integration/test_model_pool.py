"""The default transport (httpx2 over aiohttp) against a loopback server, every HTTP/1.1 way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx2
import pytest

from agentkit.model.transport import AiohttpTransport

Reply = Callable[[bytes], bytes]


class Server:
    """Serves canned replies; counts connections and requests."""

    def __init__(self, reply: Reply, *, stall: bool = False, hang_up: bool = False) -> None:
        self.reply = reply
        self.stall = stall
        self.hang_up = hang_up
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                if self.stall:
                    await asyncio.sleep(10)
                answer = self.reply(head)
                writer.write(answer)
                await writer.drain()
                if self.hang_up or b"Connection: close" in answer:
                    break
                if b"Content-Length" not in answer and b"chunked" not in answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., asyncio.Future[Server]]]:
    servers: list[Server] = []

    async def start(reply: Reply, **kwargs: bool) -> Server:
        server = Server(reply, **kwargs)
        server.server = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        assert server.server is not None
        server.server.close()


def fixed(body: bytes, *extra: bytes) -> Reply:
    headers = b"".join(h + b"\r\n" for h in extra)
    return lambda _: (
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), headers, body)
    )


async def test_keep_alive_reuses_one_connection(
    serve: Callable[..., asyncio.Future[Server]],
) -> None:
    server = await serve(fixed(b'{"ok":true}'))
    async with httpx2.AsyncClient(transport=AiohttpTransport()) as http:
        for _ in range(5):
            response = await http.post(server.url + "/v1/responses", json={"a": 1})
            assert response.json() == {"ok": True}
    assert server.connections == 1
    assert len(server.requests) == 5
    assert b'{"a":1}' in server.requests[0] or b'{"a": 1}' in server.requests[0]


async def test_concurrent_requests_open_their_own_connections(
    serve: Callable[..., asyncio.Future[Server]],
) -> None:
    server = await serve(fixed(b"x"))
    async with httpx2.AsyncClient(transport=AiohttpTransport()) as http:
        answers = await asyncio.gather(*(http.get(server.url + "/") for _ in range(20)))
        assert {a.text for a in answers} == {"x"}
        await asyncio.gather(*(http.get(server.url + "/") for _ in range(20)))
    assert server.connections <= 20, "the second burst reuses the first burst's connections"


async def test_chunked_and_gzip_bodies(serve: Callable[..., asyncio.Future[Server]]) -> None:
    import gzip

    packed = gzip.compress(b"hello chunked world")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (packed[:7], packed[7:]))
    server = await serve(
        lambda _: (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
            + chunks
            + b"0\r\n\r\n"
        )
    )
    async with httpx2.AsyncClient(transport=AiohttpTransport()) as http:
        assert (await http.get(server.url)).text == "hello chunked world"
        assert (await http.get(server.url)).text == "hello chunked world"
    assert server.connections == 1


async def test_close_delimited_body_and_connection_close(
    serve: Callable[..., asyncio.Future[Server]],
) -> None:
    server = await serve(lambda _: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
    async with httpx2.AsyncClient(transport=AiohttpTransport()) as http:
        assert (await http.get(server.url)).text == "until the end"
        assert (await http.get(server.url)).text == "until the end"
    assert server.connections == 2


async def test_streamed_body_arrives_in_pieces(
    serve: Callable[..., asyncio.Future[Server]],
) -> None:
    events = b"".join(b'data: {"n": %d}\n\n' % n for n in range(50))
    server = await serve(fixed(events, b"Content-Type: text/event-stream"))
    async with (
        httpx2.AsyncClient(transport=AiohttpTransport()) as http,
        http.stream("POST", server.url, json={}) as response,
    ):
        lines = [line async for line in response.aiter_lines() if line]
    assert len(lines) == 50


async def test_a_partly_read_stream_does_not_poison_the_pool(
    serve: Callable[..., asyncio.Future[Server]],
) -> None:
    server = await serve(fixed(b"y" * 200_000))
    async with httpx2.AsyncClient(transport=AiohttpTransport()) as http:
        async with http.stream("GET", server.url) as response:
            async for _ in response.aiter_bytes():
                break
        assert len((await http.get(server.url)).content) == 200_000
    assert server.connections == 2


async def test_read_timeout_and_refused_connection_are_httpx2_errors(
    serve: Callable[..., asyncio.Future[Server]],
) -> None:
    server = await serve(fixed(b"late"), stall=True)
    async with httpx2.AsyncClient(transport=AiohttpTransport()) as http:
        with pytest.raises(httpx2.ReadTimeout):
            await http.get(server.url, timeout=httpx2.Timeout(5.0, read=0.1))
        with pytest.raises(httpx2.ConnectError):
            await http.get("http://127.0.0.1:9/")


async def test_a_truncated_body_is_a_protocol_error(
    serve: Callable[..., asyncio.Future[Server]],
) -> None:
    server = await serve(
        lambda _: b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nshort"
    )
    async with httpx2.AsyncClient(transport=AiohttpTransport()) as http:
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.get(server.url)


async def test_a_connection_closed_by_the_server_while_idle_is_not_reused(
    serve: Callable[..., asyncio.Future[Server]],
) -> None:
    server = await serve(fixed(b"ok"), hang_up=True)  # keep-alive answer, then the server hangs up
    async with httpx2.AsyncClient(transport=AiohttpTransport()) as http:
        for _ in range(3):
            assert (await http.get(server.url)).text == "ok"
            await asyncio.sleep(0.05)  # the hang-up reaches the idle connection
    assert server.connections == 3


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, made with the openssl command."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_is_verified(certificate: tuple[Path, Path]) -> None:
    """A server whose certificate we trust answers; the default trust store refuses it."""
    import ssl

    cert, key = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    server = Server(fixed(b"secure"))
    server.server = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=server_side)
    port = server.server.sockets[0].getsockname()[1]
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        async with httpx2.AsyncClient(transport=AiohttpTransport(verify=trusting)) as http:
            assert (await http.get(f"https://localhost:{port}/")).text == "secure"
        async with httpx2.AsyncClient(transport=AiohttpTransport()) as http:
            with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(f"https://localhost:{port}/")
    finally:
        server.server.close()


def test_one_client_serves_two_event_loops_in_turn() -> None:
    """A client made outside a loop and used by two asyncio.run calls, as sync code does."""
    from agentkit.model import ModelRequest, XAIClient
    from agentkit.testing import FakeXAI, Script, Turn, serve_in_thread

    fake = FakeXAI(Script([Turn.text("one")]))
    request = ModelRequest(model="grok-4", input=[{"role": "user", "content": "hi"}])
    with serve_in_thread(fake) as server:
        client = XAIClient(api_key="xai-loop-test", base_url=server.base_url)
        first = asyncio.run(client.respond(request))
        second = asyncio.run(client.respond(request))  # the first loop's pool is gone
        asyncio.run(client.aclose())
    assert (first.text, second.text) == ("one", "one")
    assert fake.count(None) == 2


async def test_a_closed_transport_sends_nothing(
    serve: Callable[..., asyncio.Future[Server]],
) -> None:
    server = await serve(fixed(b"x"))
    transport = AiohttpTransport()
    async with httpx2.AsyncClient(transport=transport) as http:
        assert (await http.get(server.url)).text == "x"
        await transport.aclose()
        with pytest.raises(httpx2.TransportError, match="closed"):
            await http.get(server.url)
    assert len(server.requests) == 1


async def test_httpx2s_own_transport_stays_selectable() -> None:
    from agentkit.model import ModelRequest, XAIClient
    from agentkit.testing import FakeXAI, Script, Turn, serve_in_thread

    fake = FakeXAI(Script([Turn.text("over httpcore2")]))
    request = ModelRequest(model="grok-4", input=[{"role": "user", "content": "hi"}])
    with serve_in_thread(fake) as server:
        transport = httpx2.AsyncHTTPTransport()
        async with XAIClient(api_key="xai-x", base_url=server.base_url, transport=transport) as c:
            assert (await c.respond(request)).text == "over httpcore2"
