"""XAIClient against the fake xAI server over real loopback HTTP, one test per fault."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit.errors import (
    BadRequest,
    ModelBehaviorError,
    ModelTimeout,
    QuotaExhausted,
    ServerError,
    StreamInterrupted,
)
from agentkit.model import ModelRequest, RetryPolicy, Timeouts, Usage, XAIClient
from agentkit.testing import FakeServer, FakeXAI, Fault, Script, Turn, serve_in_thread

MODEL = "grok-4-1-fast-non-reasoning"
REQUEST = ModelRequest(model=MODEL, input=[{"role": "user", "content": "status of ticket 42?"}])
TOOL = {
    "type": "function",
    "name": "lookup_ticket",
    "description": "Look a ticket up.",
    "parameters": {
        "type": "object",
        "properties": {"ticket_id": {"type": "integer"}},
        "required": ["ticket_id"],
        "additionalProperties": False,
    },
}


class RecordingSleep:
    """Really sleeps, and records what it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(seconds)


@pytest.fixture
def fake() -> FakeXAI:
    return FakeXAI(Script([Turn.call("lookup_ticket", {"ticket_id": 42}), Turn.text("open")]))


@pytest.fixture
def server(fake: FakeXAI) -> Iterator[FakeServer]:
    with serve_in_thread(fake) as running:
        yield running


def client(server: FakeServer, **kwargs: Any) -> tuple[XAIClient, RecordingSleep, list[Usage]]:
    sleep = RecordingSleep()
    usages: list[Usage] = []
    kwargs.setdefault("retry", RetryPolicy(base_delay=0.01))
    made = XAIClient(
        api_key="xai-loopback-test",
        base_url=server.base_url,
        sleep=sleep,
        usage_sink=usages.append,
        **kwargs,
    )
    return made, sleep, usages


def arrivals(fake: FakeXAI) -> list[str]:
    return [r.request_id for r in fake.requests]


async def test_a_tool_turn_then_text_round_trip(fake: FakeXAI, server: FakeServer) -> None:
    model, _, usages = client(server)
    async with model:
        first = await model.respond(dataclasses.replace(REQUEST, tools=[TOOL]))
        [call] = first.function_calls
        assert (call.name, call.arguments.replace(" ", "")) == ("lookup_ticket", '{"ticket_id":42}')
        output = {"type": "function_call_output", "call_id": call.call_id, "output": "open"}
        follow = dataclasses.replace(
            REQUEST, tools=[TOOL], input=[*REQUEST.input, *first.output, output], stream=True
        )
        second = await model.respond(follow)
    assert second.text == "open"
    assert [u.status for u in usages] == ["completed", "completed"]
    assert all(u.input_tokens > 0 for u in usages)
    assert fake.requests[0].json["parallel_tool_calls"] is True


async def test_429_retry_after_is_waited_for(fake: FakeXAI, server: FakeServer) -> None:
    fake.inject(Fault.http(429, retry_after=0.5))
    model, sleep, usages = client(server)
    started = time.monotonic()
    async with model:
        response = await model.respond(REQUEST)
    assert sleep.waits == [0.5]
    assert time.monotonic() - started >= 0.5
    assert response.usage.attempts == 2
    assert len(set(arrivals(fake))) == 1
    assert fake.count("/v1/responses") == 2
    assert usages == [response.usage]


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried(fake: FakeXAI, server: FakeServer, status: int) -> None:
    fake.inject(Fault.http(status), times=2)
    model, sleep, _ = client(server)
    async with model:
        response = await model.respond(REQUEST)
    assert response.usage.attempts == 3
    assert len(sleep.waits) == 2
    assert len(set(arrivals(fake))) == 1


async def test_server_errors_give_up_at_the_attempt_cap(fake: FakeXAI, server: FakeServer) -> None:
    fake.inject(Fault.http(500), times=10)
    model, _, usages = client(server, retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    async with model:
        with pytest.raises(ServerError) as info:
            await model.respond(REQUEST)
    assert info.value.attempts == 3
    assert fake.count("/v1/responses") == 3
    assert usages[0].status == "error:ServerError"


async def test_a_dropped_connection_is_retried(fake: FakeXAI, server: FakeServer) -> None:
    fake.inject(Fault.drop())
    model, sleep, _ = client(server)
    async with model:
        response = await model.respond(REQUEST)
    assert response.function_calls
    assert response.usage.attempts == 2
    assert len(sleep.waits) == 1
    assert len(set(arrivals(fake))) == 1


async def test_a_slow_answer_times_out_per_call(fake: FakeXAI, server: FakeServer) -> None:
    fake.inject(Fault.delay(2.0), times=2)
    model, _, _ = client(server, retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    async with model:
        with pytest.raises(ModelTimeout) as info:
            await model.respond(dataclasses.replace(REQUEST, timeout=0.2))
    assert info.value.attempts == 2


async def test_a_delay_within_the_timeout_is_just_slow(fake: FakeXAI, server: FakeServer) -> None:
    fake.inject(Fault.delay(0.2))
    model, _, _ = client(server, timeouts=Timeouts(read=5.0))
    async with model:
        response = await model.respond(REQUEST)
    assert response.usage.attempts == 1
    assert response.usage.latency_ms >= 200


async def test_a_truncated_stream_is_interrupted_not_short(
    fake: FakeXAI, server: FakeServer
) -> None:
    fake.inject(Fault.truncate_stream(after_events=3))
    model, _, usages = client(server)
    async with model:
        with pytest.raises(StreamInterrupted):
            await model.respond(dataclasses.replace(REQUEST, stream=True))
    assert fake.count("/v1/responses") == 1
    assert usages[0].status == "error:StreamInterrupted"


async def test_a_malformed_body_is_a_behaviour_error(fake: FakeXAI, server: FakeServer) -> None:
    fake.inject(Fault.malformed_body())
    model, _, _ = client(server)
    async with model:
        with pytest.raises(ModelBehaviorError):
            await model.respond(REQUEST)
    assert fake.count("/v1/responses") == 1


async def test_a_400_is_not_retried(fake: FakeXAI, server: FakeServer) -> None:
    fake.inject(Fault.http(400, message="Argument not supported on this model: stop"))
    model, sleep, _ = client(server)
    async with model:
        with pytest.raises(BadRequest, match="Argument not supported on this model: stop"):
            await model.respond(REQUEST)
    assert sleep.waits == []
    assert fake.count("/v1/responses") == 1


async def test_quota_exhausted_is_not_retried(fake: FakeXAI, server: FakeServer) -> None:
    fake.inject(Fault.quota_exhausted())
    model, sleep, _ = client(server)
    async with model:
        with pytest.raises(QuotaExhausted):
            await model.respond(REQUEST)
    assert sleep.waits == []


async def test_chat_endpoint_streamed_equals_plain(fake: FakeXAI, server: FakeServer) -> None:
    model, _, _ = client(server, endpoint="chat")
    request = dataclasses.replace(REQUEST, tools=[TOOL])
    async with model:
        plain = await model.respond(request)
        streamed = await model.respond(dataclasses.replace(request, stream=True))
    assert [(c.name, c.arguments) for c in streamed.function_calls] == [
        (c.name, c.arguments) for c in plain.function_calls
    ]
    assert streamed.usage.total_tokens == plain.usage.total_tokens
    assert fake.requests[0].path == "/v1/chat/completions"


async def test_search_citations_stream_like_plain() -> None:
    search = Turn.search(
        query="xai news", results=[{"url": "https://x.ai/news", "title": "News"}], text="News."
    )
    searching = FakeXAI(lambda body: search)
    request = dataclasses.replace(REQUEST, tools=[{"type": "web_search"}])
    with serve_in_thread(searching) as server:
        model, _, _ = client(server)
        async with model:
            plain = await model.respond(request)
            streamed = await model.respond(dataclasses.replace(request, stream=True))
    for response in (plain, streamed):
        assert response.citations[0].url == "https://x.ai/news"
        assert [s.type for s in response.server_tool_calls] == ["web_search_call"]
        assert response.function_calls == []
    assert streamed.text == plain.text
    assert streamed.usage.cost_usd == plain.usage.cost_usd > 0
