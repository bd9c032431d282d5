"""The default transport against a hostile server on loopback, beside httpx2's own transport.

Each test runs both transports on the same server. Ours must be right; where httpx2's
transport is not, the expectation for it says so (``HTTPX2_WRONG``), so a change in
either shows up here.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Callable

import httpx2
import pytest

from agentkit.errors import ModelConnectionError, ModelTimeout
from agentkit.model import ModelRequest, RetryPolicy, Timeouts, XAIClient
from agentkit.model.transport import AiohttpTransport
from agentkit.testing.raw_http import (
    Connection,
    Handler,
    outcome,
    reply,
    responses_body,
    serving,
)

TRANSPORTS: dict[str, Callable[[], httpx2.AsyncBaseTransport]] = {
    "ours": AiohttpTransport,
    "httpx2": httpx2.AsyncHTTPTransport,
}
REAL = reply(b"real")
PLANTED = reply(b"planted")
HTTPX2_WRONG = "httpx2's own transport answers a later request with the planted bytes"
JSON = b"Content-Type: application/json"
REQUEST = ModelRequest(model="grok-4", input=[{"role": "user", "content": "hello"}])


def xai(url: str, timeouts: Timeouts | None = None) -> XAIClient:
    """XAIClient on the default transport, one attempt per call."""
    return XAIClient(
        api_key="xai-hostile-test",
        base_url=url + "/v1",
        retry=RetryPolicy(max_attempts=1),
        timeouts=timeouts,
    )


# --- bytes no request asked for --------------------------------------------------------


async def _plant_while_idle(conn: Connection) -> None:
    while await conn.request():
        await conn.write(REAL)
        await asyncio.sleep(0.05)
        await conn.write(PLANTED)


async def _close_with_408_while_idle(conn: Connection) -> None:
    await conn.request()
    await conn.write(REAL)
    await asyncio.sleep(0.05)
    await conn.write(reply(b"", b"Connection: close", status=b"408 Request Timeout"))


async def _extra_in_the_same_write(conn: Connection) -> None:
    while await conn.request():
        await conn.write(REAL + PLANTED)


def _bodiless_with_body(status: bytes) -> Handler:
    async def handler(conn: Connection) -> None:
        while await conn.request():
            await conn.write(b"HTTP/1.1 " + status + b"\r\n\r\n" + PLANTED)

    return handler


UNSOLICITED = {
    # name: (server, what ours answers three GETs with, what httpx2's transport answers)
    "planted 200 on an idle connection": (_plant_while_idle, ["200 real"] * 3, ["200 real"] * 3),
    "408 and close on an idle connection": (
        _close_with_408_while_idle,
        ["200 real"] * 3,
        ["200 real"] * 3,
    ),
    "a second answer in the same write": (
        _extra_in_the_same_write,
        ["200 real"] * 3,
        ["200 real", "200 planted", "200 real"],
    ),
    "204 with a body": (
        _bodiless_with_body(b"204 No Content"),
        ["204"] * 3,
        ["204", "200 planted", "204"],
    ),
    "304 with a body": (
        _bodiless_with_body(b"304 Not Modified"),
        ["304"] * 3,
        ["304", "200 planted", "304"],
    ),
}


@pytest.mark.parametrize("case", list(UNSOLICITED))
async def test_unsolicited_bytes_never_answer_a_later_request(case: str) -> None:
    handler, ours_expected, httpx2_expected = UNSOLICITED[case]
    seen: dict[str, list[str]] = {}
    for name, make in TRANSPORTS.items():
        async with serving(handler) as server:
            transport = make()
            answers = []
            async with httpx2.AsyncClient(transport=transport, timeout=5.0) as http:
                for _ in range(3):
                    try:
                        response = await http.get(server.url)
                        answers.append(f"{response.status_code} {response.text}".strip())
                    except httpx2.HTTPError as exc:
                        answers.append(type(exc).__name__)
                    await asyncio.sleep(0.15)  # what the server plants arrives meanwhile
            seen[name] = answers
    assert seen["ours"] == ours_expected
    assert seen["httpx2"] == httpx2_expected, (
        HTTPX2_WRONG if "200 planted" in str(httpx2_expected) else "httpx2's transport changed"
    )


async def test_a_planted_answer_never_answers_another_prompt() -> None:
    prompts = iter(["first answer", "second answer", "third answer"])

    async def handler(conn: Connection) -> None:
        while await conn.request():
            await conn.write(reply(responses_body(next(prompts)), JSON))
            await asyncio.sleep(0.05)
            await conn.write(reply(responses_body("PLANTED"), JSON))

    async with serving(handler) as server, xai(server.url) as client:
        texts = []
        for _ in range(3):
            texts.append((await client.respond(REQUEST)).text)
            await asyncio.sleep(0.15)
    assert texts == ["first answer", "second answer", "third answer"]
    assert server.connections == 3  # each poisoned connection was dropped, not reused


# --- header blocks and line lengths are capped -------------------------------------------

_TINY_LINES = b"a: b\r\n" * 10_000


async def _answer_real(conn: Connection) -> None:
    while await conn.request():
        await conn.write(REAL)


async def _endless_headers(conn: Connection) -> None:
    await conn.request()
    await conn.write(b"HTTP/1.1 200 OK\r\n")
    for _ in range(8_000_000 // len(_TINY_LINES)):  # 8 MB of tiny header lines
        await conn.write(_TINY_LINES)
    await conn.write(b"Content-Length: 2\r\n\r\nok")


async def _long_header_line(conn: Connection) -> None:
    await conn.request()
    await conn.write(b"HTTP/1.1 200 OK\r\nX-Long: ")
    for _ in range(128):
        await conn.write(b"a" * 65_536)  # one 8 MB header line
    await conn.write(b"\r\nContent-Length: 2\r\n\r\nok")


async def _long_status_line(conn: Connection) -> None:
    await conn.request()
    await conn.write(b"HTTP/1.1 200 ")
    for _ in range(128):
        await conn.write(b"O" * 65_536)
    await conn.write(b"\r\nContent-Length: 2\r\n\r\nok")


@pytest.mark.parametrize("handler", [_endless_headers, _long_header_line, _long_status_line])
async def test_an_endless_head_is_refused_in_bounded_memory(
    handler: Handler,
) -> None:
    peaks = {}
    for name, make in TRANSPORTS.items():
        transport = make()
        async with (
            serving(_answer_real) as fine,
            serving(handler) as server,
            httpx2.AsyncClient(transport=transport, timeout=30.0) as http,
        ):
            await http.get(fine.url)  # imports and pools are not what is measured
            tracemalloc.start()
            try:
                with pytest.raises(httpx2.RemoteProtocolError):
                    await http.get(server.url)
                peaks[name] = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
    # 8 MB arrive; aiohttp stops at 128 header lines or 8,190 bytes a line, httpx2 at 64 KiB
    assert peaks["ours"] < 1_000_000, peaks
    assert peaks["httpx2"] < 1_000_000, peaks


# --- a request that could split on the wire is refused before anything is sent ----------


def _keep_all(chunks: list[bytes]) -> Handler:
    async def handler(conn: Connection) -> None:
        while data := await conn.reader.read(65_536):
            chunks.append(data)

    return handler


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "a\r\nX-Injected: 1"},
        {"X-A": "a\nX-Injected: 1"},
        {"X-A": "a\rb"},
        {"X-A": "a\x00b"},
    ],
    ids=["crlf", "lf", "cr", "nul"],
)
async def test_a_header_value_with_cr_or_lf_is_refused_before_sending(
    headers: dict[str, str],
) -> None:
    received: dict[str, bytes] = {}
    for name, make in TRANSPORTS.items():
        chunks: list[bytes] = []
        async with serving(_keep_all(chunks)) as server:
            assert await outcome(make(), server.url, headers=headers) == "LocalProtocolError"
            await asyncio.sleep(0.05)
            if name == "ours":
                assert server.connections == 0, "ours refuses before it connects"
        received[name] = b"".join(chunks)
    assert received == {"ours": b"", "httpx2": b""}


async def test_a_header_name_with_a_space_is_refused_before_sending() -> None:
    async with serving(_plant_while_idle) as server:
        assert await outcome(AiohttpTransport(), server.url, headers={"X A": "b"}) == (
            "LocalProtocolError"
        )
    assert server.connections == 0


async def test_an_api_key_with_a_newline_never_reaches_the_wire() -> None:
    async with serving(_plant_while_idle) as server:
        client = XAIClient(
            api_key="xai-key\r\nX-Injected: 1", base_url=server.url + "/v1", retry=RetryPolicy(1)
        )
        async with client:
            with pytest.raises(ModelConnectionError, match="LocalProtocolError"):
                await client.respond(REQUEST)
    assert server.connections == 0
    assert server.requests == []


# --- malformed framing is an error, never a response -----------------------------------

BODY = b"hello"
MALFORMED = {
    # name: (answer, what httpx2's own transport makes of it)
    "two different Content-Length": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhelloXX",
        "RemoteProtocolError",
    ),
    "Content-Length +5": (
        b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
        "RemoteProtocolError",
    ),
    "Content-Length -5": (
        b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello",
        "RemoteProtocolError",
    ),
    "Content-Length 0x5": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello",
        "RemoteProtocolError",
    ),
    "status -200": (b"HTTP/1.1 -200 OK\r\nContent-Length: 5\r\n\r\nhello", "RemoteProtocolError"),
    "status abc": (b"HTTP/1.1 abc OK\r\nContent-Length: 5\r\n\r\nhello", "RemoteProtocolError"),
    "status 099": (b"HTTP/1.1 099 OK\r\nContent-Length: 5\r\n\r\nhello", "RemoteProtocolError"),
    "status 999": (b"HTTP/1.1 999 OK\r\nContent-Length: 5\r\n\r\nhello", "999 hello"),
    "not HTTP": (b"ICY 200 OK\r\nContent-Length: 5\r\n\r\nhello", "RemoteProtocolError"),
    "Transfer-Encoding xchunkedx": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunkedx\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "RemoteProtocolError",
    ),
    "Transfer-Encoding gzip, chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "RemoteProtocolError",
    ),
    "two Transfer-Encoding": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
        "RemoteProtocolError",
    ),
    "Transfer-Encoding and Content-Length": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
        "200 hello",
    ),
    "chunk size zz": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        "RemoteProtocolError",
    ),
    "chunk size +5": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n",
        "RemoteProtocolError",
    ),
    "chunk size -5": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
        "RemoteProtocolError",
    ),
    "chunk size overflows": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "RemoteProtocolError",
    ),
    "chunk without its CRLF": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        "RemoteProtocolError",
    ),
    "space before a colon": (
        b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello",
        "RemoteProtocolError",
    ),
    "header line without a colon": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nbogus\r\n\r\nhello",
        "RemoteProtocolError",
    ),
    "control character in a value": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: a\x01b\r\n\r\nhello",
        "200 hello",
    ),
    "101 nobody asked for": (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        "RemoteProtocolError",
    ),
    "body cut short": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
        "RemoteProtocolError",
    ),
    "no answer at all": (b"", "RemoteProtocolError"),
}


def _answer_once(answer: bytes) -> Handler:
    async def handler(conn: Connection) -> None:
        await conn.request()
        await conn.write(answer)

    return handler


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_framing_is_an_error_never_a_response(case: str) -> None:
    answer, httpx2_makes = MALFORMED[case]
    seen = {}
    for name, make in TRANSPORTS.items():
        async with serving(_answer_once(answer)) as server:
            seen[name] = await outcome(make(), server.url)
    assert seen == {"ours": "RemoteProtocolError", "httpx2": httpx2_makes}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_framing_is_a_typed_error_through_the_client(case: str) -> None:
    answer, _ = MALFORMED[case]
    async with serving(_answer_once(answer)) as server, xai(server.url) as client:
        with pytest.raises(ModelConnectionError, match="RemoteProtocolError"):
            await client.respond(REQUEST)


@pytest.mark.parametrize("interim", [b"100 Continue", b"103 Early Hints\r\nLink: </a>"])
async def test_interim_answers_are_skipped_for_the_final_one(interim: bytes) -> None:
    answer = b"HTTP/1.1 " + interim + b"\r\n\r\n" + reply(b"final")
    for make in TRANSPORTS.values():
        async with serving(_answer_once(answer)) as server:
            assert await outcome(make(), server.url) == "200 final"


# --- an answer that drips is bounded by the read timeout as a whole ----------------------

READ = 0.3
DRIP = 0.02  # seconds a byte: a 60-byte head takes 1.2 s, each byte well inside READ


async def _drip_head(conn: Connection) -> None:
    await conn.request()
    await conn.drip(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: 0123456789abc\r\n\r\n", DRIP)
    await conn.write(b"ok")


async def _drip_body(conn: Connection) -> None:
    await conn.request()
    await conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n")
    await conn.drip(b"x" * 60, DRIP)


async def _endless_interim(conn: Connection) -> None:
    await conn.request()
    for _ in range(60):
        await conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await asyncio.sleep(DRIP)
    await conn.write(reply(b"ok"))


@pytest.mark.parametrize(
    ("handler", "httpx2_makes"),
    [(_drip_head, "200 ok"), (_drip_body, "200 " + "x" * 60), (_endless_interim, "200 ok")],
    ids=["head", "body", "endless 100 Continue"],
)
async def test_a_dripping_answer_times_out_as_a_whole(handler: Handler, httpx2_makes: str) -> None:
    timeout = httpx2.Timeout(5.0, read=READ)
    took = {}
    for name, make in TRANSPORTS.items():
        async with serving(handler) as server:
            started = time.perf_counter()
            result = await outcome(make(), server.url, timeout=timeout)
            took[name] = time.perf_counter() - started
        expected = "ReadTimeout" if name == "ours" else httpx2_makes
        assert result == expected, name
    assert took["ours"] < READ + 0.4, took
    assert took["httpx2"] > 1.0, "httpx2's read timeout restarts on every byte"


async def test_an_event_stream_may_outlast_the_read_timeout_while_it_keeps_talking() -> None:
    async def handler(conn: Connection) -> None:
        await conn.request()
        await conn.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked"
            b"\r\n\r\n"
        )
        for n in range(8):
            event = b'data: {"n": %d}\n\n' % n
            await conn.write(b"%x\r\n%s\r\n" % (len(event), event))
            await asyncio.sleep(READ / 3)
        await conn.write(b"0\r\n\r\n")

    timeout = httpx2.Timeout(5.0, read=READ)
    async with (
        serving(handler) as server,
        httpx2.AsyncClient(transport=AiohttpTransport(), timeout=timeout) as http,
        http.stream("GET", server.url, headers={"Accept": "text/event-stream"}) as response,
    ):
        lines = [line async for line in response.aiter_lines() if line]
    assert len(lines) == 8  # 0.8 s in all, never silent for READ


async def test_a_dripping_answer_is_a_timeout_through_the_client() -> None:
    async with (
        serving(_drip_head) as server,
        xai(server.url, timeouts=Timeouts(read=READ, reasoning_read=READ)) as client,
    ):
        started = time.perf_counter()
        with pytest.raises(ModelTimeout):
            await client.respond(REQUEST)
    assert time.perf_counter() - started < READ + 0.4
