"""The fake xAI server over real loopback HTTP: the protocol, faults, concurrency, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from agentkit.errors import ConfigError
from agentkit.testing import FakeServer, FakeXAI, Fault, Script, Turn, parse_sse, serve_in_thread

TOOLS = [
    {
        "type": "function",
        "name": "lookup_ticket",
        "parameters": {
            "type": "object",
            "properties": {"ticket_id": {"type": "integer"}},
            "required": ["ticket_id"],
        },
    }
]
BODY: dict[str, Any] = {"model": "grok-4-1-fast-reasoning", "input": "hi", "tools": TOOLS}


@pytest.fixture
def fake() -> FakeXAI:
    return FakeXAI()


@pytest.fixture
def server(fake: FakeXAI) -> Iterator[FakeServer]:
    with serve_in_thread(fake) as running:
        yield running


def raw_exchange(server: FakeServer, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


async def test_keep_alive_serves_many_requests_on_one_connection(server: FakeServer) -> None:
    limits = httpx2.Limits(max_connections=1)
    async with httpx2.AsyncClient(base_url=server.base_url, limits=limits) as http:
        for _ in range(5):
            response = await http.post("/responses", json=BODY)
            assert response.status_code == 200
            assert response.http_version == "HTTP/1.1"
            assert response.headers["connection"] == "keep-alive"


async def test_stream_is_chunked_sse(server: FakeServer) -> None:
    streamed = {**BODY, "stream": True}
    async with (
        httpx2.AsyncClient(base_url=server.base_url) as http,
        http.stream("POST", "/responses", json=streamed) as response,
    ):
        assert response.headers["transfer-encoding"] == "chunked"
        text = "".join([chunk async for chunk in response.aiter_text()])
    *events, done = parse_sse(text)
    assert events[0]["type"] == "response.created"
    assert events[-1]["type"] == "response.completed"
    assert done == "[DONE]"


def test_chunked_request_body_and_connection_close(server: FakeServer) -> None:
    payload = json.dumps(BODY).encode()
    head = (
        b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\nX-Request-Id: raw-1\r\n\r\n"
    )
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)
    raw = raw_exchange(server, head + chunked)
    status, _, rest = raw.partition(b"\r\n")
    assert status == b"HTTP/1.1 200 OK"
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"x-request-id: " in headers
    assert b"x-request-id: raw-1" not in headers  # the server's own id, not an echo
    assert b"connection: close" in headers
    assert json.loads(body)["output"][0]["type"] == "function_call"


def test_http10_stream_is_close_delimited(server: FakeServer) -> None:
    payload = json.dumps({**BODY, "stream": True}).encode()
    head = b"POST /v1/responses HTTP/1.0\r\nContent-Type: application/json\r\n"
    raw = raw_exchange(server, head + b"Content-Length: %d\r\n\r\n" % len(payload) + payload)
    headers, _, body = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in headers
    *events, done = parse_sse(body.decode())
    assert (events[-1]["type"], done) == ("response.completed", "[DONE]")


def test_garbage_request_line_gets_a_400(server: FakeServer) -> None:
    raw = raw_exchange(server, b"NONSENSE\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 ")


async def test_drop_closes_without_a_response(fake: FakeXAI, server: FakeServer) -> None:
    fake.inject(Fault.drop())
    async with httpx2.AsyncClient(base_url=server.base_url) as http:
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.post("/responses", json=BODY)
        assert (await http.post("/responses", json=BODY)).status_code == 200


async def test_429_and_truncated_stream_over_http(fake: FakeXAI, server: FakeServer) -> None:
    fake.inject(Fault.http(429, retry_after=2))
    fake.inject(Fault.truncate_stream(after_events=2))
    async with httpx2.AsyncClient(base_url=server.base_url) as http:
        limited = await http.post("/responses", json=BODY)
        cut = await http.post("/responses", json={**BODY, "stream": True})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert [e["type"] for e in parse_sse(cut.text)] == ["response.created", "response.in_progress"]


async def test_read_timeout_over_http(fake: FakeXAI, server: FakeServer) -> None:
    fake.inject(Fault.delay(5))
    async with httpx2.AsyncClient(base_url=server.base_url) as http:
        with pytest.raises(httpx2.ReadTimeout):
            await http.post("/responses", json=BODY, timeout=httpx2.Timeout(5, read=0.1))


async def test_many_concurrent_conversations_with_latency() -> None:
    script = Script([Turn.call("lookup_ticket", {"ticket_id": 7}), Turn.text("done")])
    fake = FakeXAI(script, latency=0.05)

    async def conversation(http: httpx2.AsyncClient, number: int) -> str:
        items: list[Any] = [{"role": "user", "content": f"run {number}"}]
        first = (await http.post("/responses", json={**BODY, "input": items})).json()
        call = first["output"][0]
        items += [call, {"type": "function_call_output", "call_id": call["call_id"], "output": "x"}]
        second = (await http.post("/responses", json={**BODY, "input": items})).json()
        return str(second["output"][0]["content"][0]["text"])

    limits = httpx2.Limits(max_connections=300, max_keepalive_connections=300)
    with serve_in_thread(fake) as server:
        async with httpx2.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as http:
            answers = await asyncio.gather(*(conversation(http, n) for n in range(300)))
    assert answers == ["done"] * 300
    assert fake.count() == 600


def test_port_in_use_is_a_config_error(server: FakeServer) -> None:
    with (
        pytest.raises(ConfigError, match="cannot listen"),
        serve_in_thread(FakeXAI(), port=server.port),
    ):
        pass


def test_cli_prints_its_base_url_and_serves(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("turns:\n  - text: scripted hello\n")
    command = [sys.executable, "-m", "agentkit", "fake-xai", "--port", "0", "--script", str(script)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:")
            assert base_url.endswith("/v1")
            response = httpx2.post(f"{base_url}/responses", json={"model": "m", "input": "hi"})
            assert response.json()["output"][0]["content"][0]["text"] == "scripted hello"
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_cli_rejects_a_bad_script(tmp_path: Path) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text("turns: [{nope: 1}]\n")
    command = [sys.executable, "-m", "agentkit", "fake-xai", "--script", str(script)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "unknown key" in done.stderr
