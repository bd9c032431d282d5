"""SSE framing as xAI sends it: pings, comments, event names, [DONE], line endings, chunks.

The property: whatever keep-alives, comments and unused fields are interleaved, whatever
line ending the server uses and wherever the bytes are cut into chunks, the reader yields
the same payloads, and nothing after `data: [DONE]`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.errors import ModelBehaviorError
from agentkit.model import ModelRequest, ModelResponse, RetryPolicy, XAIClient
from agentkit.model.sse_reader import (
    MAX_EVENT_CHARS,
    SSEEvent,
    decode_event,
    iter_sse_events,
    split_lines,
)
from agentkit.testing import FakeXAI, Script, Turn

NOISE = [
    ["event: ping", ""],  # a keep-alive with no data
    ["event: ping", "data: 1712345678", ""],  # a keep-alive whose data is not JSON
    [": keep-alive"],  # a comment line
    [":"],
    ["retry: 1000"],
    ["id: 17"],
    [""],  # a stray blank line dispatches nothing
]
EOLS = ["\n", "\r\n", "\r"]

texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
payloads = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["response.output_text.delta", "x.custom"]), "delta": texts}
    ),
    min_size=1,
    max_size=8,
)


def event_lines(payload: dict[str, Any], *, named: bool, typed: bool, split: bool) -> list[str]:
    """One event's lines: maybe an `event:` line (then maybe no `type`), data on 1+ lines."""
    body = payload if typed else {k: v for k, v in payload.items() if k != "type"}
    data = json.dumps(body, indent=1 if split else None, ensure_ascii=False)
    lines = [f"event: {payload['type']}"] if named or not typed else []
    lines += [f"data: {line}" for line in data.split("\n")]
    return [*lines, ""]


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[str]]:
    """Payloads, and the text chunks of a stream carrying them among noise and after-[DONE] junk."""
    events = draw(payloads)
    lines: list[str] = []
    for payload in events:
        lines += draw(st.sampled_from(NOISE)) if draw(st.booleans()) else []
        lines += event_lines(
            payload, named=draw(st.booleans()), typed=draw(st.booleans()), split=draw(st.booleans())
        )
    lines += ["data: [DONE]", "", 'data: {"type": "after.done"}', ""]
    eol = draw(st.sampled_from(EOLS))
    text = "".join(line + eol for line in lines)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return events, chunks


async def _aiter(items: list[str]) -> AsyncIterator[str]:
    for item in items:
        yield item


async def _payloads(chunks: list[str]) -> list[dict[str, Any] | None]:
    return [decode_event(e) async for e in iter_sse_events(split_lines(_aiter(chunks)))]


@settings(max_examples=300, deadline=None)
@given(streams())
def test_noise_line_endings_and_chunking_do_not_change_the_events(
    stream: tuple[list[dict[str, Any]], list[str]],
) -> None:
    events, chunks = stream
    decoded = asyncio.run(_payloads(chunks))
    assert decoded[-1] is None  # [DONE], the last thing read
    assert [p for p in decoded[:-1] if p is not None and p["type"] != "ping"] == events


def test_a_ping_without_data_or_with_text_data_is_a_ping() -> None:
    assert decode_event(SSEEvent("ping", None)) == {"type": "ping"}
    assert decode_event(SSEEvent("ping", "not json")) == {"type": "ping"}
    assert decode_event(SSEEvent("response.created", '{"type": "x"}')) == {"type": "x"}
    with pytest.raises(ModelBehaviorError, match="not JSON"):
        decode_event(SSEEvent("response.created", "not json"))


def test_a_u2028_inside_json_does_not_split_the_line() -> None:
    text = 'data: {"type": "d", "delta": "a\u2028b\u0085c"}\n\n'
    [payload] = asyncio.run(_payloads([text]))
    assert payload == {"type": "d", "delta": "a\u2028b\u0085c"}


def test_an_event_of_one_mib_is_read_and_a_larger_one_refused() -> None:
    filler = "x" * (MAX_EVENT_CHARS - len('{"type":"d","delta":""}'))
    largest = json.dumps({"type": "d", "delta": filler}, separators=(",", ":"))
    assert len(largest) == MAX_EVENT_CHARS
    chunks = [f"data: {largest}"[i : i + 65536] for i in range(0, len(largest) + 6, 65536)]
    [payload] = asyncio.run(_payloads([*chunks, "\n\n"]))
    assert payload is not None
    assert len(payload["delta"]) == len(filler)
    with pytest.raises(ModelBehaviorError, match="more than 1048576 characters"):
        asyncio.run(_payloads([*chunks, "x", "\n\n"]))
    with pytest.raises(ModelBehaviorError, match="more than 1048576 characters"):
        asyncio.run(_payloads([f"data: {largest[:600_000]}\ndata: {largest[:600_000]}\n\n"]))


# --- the same through the client ---------------------------------------------------------------


def _reframed(body: str, noise: list[list[str]], eol: str, cuts: list[int]) -> list[bytes]:
    """The fake's own stream, with noise between its events, `eol` line ends, cut at `cuts`."""
    events = [block for block in body.split("\n\n") if block]
    lines: list[str] = []
    for index, block in enumerate(events):
        lines += noise[index % len(noise)] if noise else []
        lines += [*block.split("\n"), ""]
    data = "".join(line + eol for line in lines).encode()
    edges = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *edges], [*edges, len(data)], strict=True) if b > a]


REQUEST = ModelRequest(
    model="grok-code-fast-1", input=[{"role": "user", "content": "hi"}], stream=True
)
TURN = Turn(answer="Paris, then Oslo. " * 4, reasoning="Two cities.")


@functools.cache
def _streamed_body() -> tuple[str, ModelResponse]:
    """The fake's SSE body for TURN, and the answer the client reads from a plain call."""

    async def run() -> tuple[str, ModelResponse]:
        fake = FakeXAI(Script([TURN]))
        wire = {"model": REQUEST.model, "input": "hi", "stream": True}
        async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
            body = (await http.post("/responses", json=wire)).text
        plain_client = XAIClient(api_key="k", transport=FakeXAI(Script([TURN])).transport())
        async with plain_client:
            plain = await plain_client.respond(dataclasses.replace(REQUEST, stream=False))
        return body, plain

    return asyncio.run(run())


@settings(max_examples=60, deadline=None)
@given(
    noise=st.lists(st.sampled_from(NOISE), max_size=4),
    eol=st.sampled_from(EOLS),
    cuts=st.lists(st.integers(0, 20_000), max_size=20),
)
def test_the_client_reads_a_noisy_rechunked_stream_as_the_plain_answer(
    noise: list[list[str]], eol: str, cuts: list[int]
) -> None:
    body, plain = _streamed_body()
    chunks = _reframed(body, noise, eol, cuts)

    async def run() -> ModelResponse:
        client = XAIClient(
            api_key="k", transport=_ChunkedTransport(chunks), retry=RetryPolicy(max_attempts=1)
        )
        async with client:
            return await client.respond(REQUEST)

    streamed = asyncio.run(run())
    assert streamed.text == plain.text
    assert streamed.reasoning_summary == plain.reasoning_summary
    assert streamed.status == "completed"


class _ChunkedTransport(httpx2.AsyncBaseTransport):
    """Answers with an SSE body delivered exactly in the given chunks."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_Chunks(self.chunks)
        )


class _Chunks(httpx2.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
