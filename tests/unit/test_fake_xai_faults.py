"""Every injected fault, over the in-process transport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import jsonschema
import pytest

from agentkit.errors import ConfigError
from agentkit.testing import FakeXAI, Fault, Script, Turn, parse_sse

PARAMETERS = {
    "type": "object",
    "properties": {"ticket_id": {"type": "integer"}, "note": {"type": "string"}},
    "required": ["ticket_id"],
    "additionalProperties": False,
}
TOOLS = [{"type": "function", "name": "lookup_ticket", "parameters": PARAMETERS}]
BODY: dict[str, Any] = {"model": "grok-4-fast-non-reasoning", "input": "hi", "tools": TOOLS}


@pytest.fixture
def fake() -> FakeXAI:
    return FakeXAI()  # the offline model calls lookup_ticket first


@pytest.fixture
async def client(fake: FakeXAI) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://fake/v1") as http:
        yield http


async def test_429_carries_retry_after_then_recovers(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    fake.inject(Fault.http(429, retry_after=1.5), times=2)
    for _ in range(2):
        limited = await client.post("/responses", json=BODY)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1.5"
        assert limited.json()["code"] == "Some resource has been exhausted"
    assert (await client.post("/responses", json=BODY)).status_code == 200
    assert fake.pending_faults() == 0


async def test_quota_exhausted_says_credits(fake: FakeXAI, client: httpx2.AsyncClient) -> None:
    fake.inject(Fault.quota_exhausted())
    refused = await client.post("/responses", json=BODY)
    assert refused.status_code == 429
    assert "retry-after" not in refused.headers
    error = refused.json()["error"]
    assert "credits" in error
    assert "spending limit" in error


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "Internal error"),
        (503, "The service is currently unavailable"),
        (400, "Client specified an invalid argument"),
    ],
)
async def test_http_errors_have_the_flat_body(
    fake: FakeXAI, client: httpx2.AsyncClient, status: int, code: str
) -> None:
    fake.inject(Fault.http(status, message="Argument not supported on this model: stop"))
    response = await client.post("/chat/completions", json={"model": "m", "messages": []})
    assert response.status_code == status
    assert response.json() == {"code": code, "error": "Argument not supported on this model: stop"}


async def test_fault_path_filter_leaves_other_endpoints_alone(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    fake.inject(Fault("http", status=500, path="/v1/chat/completions"))
    assert (await client.post("/responses", json=BODY)).status_code == 200
    chat = await client.post("/chat/completions", json={"model": "m", "messages": []})
    assert chat.status_code == 500


async def test_drop_raises_like_a_closed_connection(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    fake.inject(Fault.drop())
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.post("/responses", json=BODY)
    assert (await client.post("/responses", json=BODY)).status_code == 200


async def test_delay_longer_than_read_timeout_times_out(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    fake.inject(Fault.delay(30))
    with pytest.raises(httpx2.ReadTimeout):
        await client.post("/responses", json=BODY, timeout=httpx2.Timeout(5, read=0.05))


async def test_delay_does_not_block_other_requests() -> None:
    started = asyncio.Event()

    def answer(request: dict[str, Any]) -> Turn:
        started.set()  # the fault is taken right after the turn is chosen, before any await
        return Turn.text("ok")

    fake = FakeXAI(answer)
    fake.inject(Fault.delay(30))
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        slow = asyncio.create_task(http.post("/responses", json=BODY))
        await started.wait()
        fast = await http.post("/responses", json=BODY)
        assert fast.status_code == 200
        assert not slow.done()
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow


async def test_truncated_stream_has_no_terminal_event(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    fake.inject(Fault.truncate_stream(after_events=3))
    plain = await client.post("/responses", json=BODY)
    assert plain.status_code == 200  # the fault waits for a streamed request
    events = parse_sse((await client.post("/responses", json={**BODY, "stream": True})).text)
    assert len(events) == 3
    assert "response.completed" not in [e["type"] for e in events]


async def test_malformed_body_is_200_and_not_json(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    fake.inject(Fault.malformed_body(), times=2)
    plain = await client.post("/responses", json=BODY)
    assert plain.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        plain.json()
    streamed = await client.post("/responses", json={**BODY, "stream": True})
    with pytest.raises(json.JSONDecodeError):
        parse_sse(streamed.text)


async def test_malformed_arguments_are_not_json(fake: FakeXAI, client: httpx2.AsyncClient) -> None:
    fake.inject(Fault.malformed_arguments())
    call = (await client.post("/responses", json=BODY)).json()["output"][0]
    with pytest.raises(json.JSONDecodeError):
        json.loads(call["arguments"])


async def test_invalid_arguments_break_the_schema(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    fake.inject(Fault.invalid_arguments())
    call = (await client.post("/responses", json=BODY)).json()["output"][0]
    arguments = json.loads(call["arguments"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(arguments, PARAMETERS)


async def test_argument_faults_wait_for_a_turn_with_calls() -> None:
    fake = FakeXAI(Script([Turn.text("hello"), Turn.call("lookup_ticket", {"ticket_id": 1})]))
    fake.inject(Fault.malformed_arguments())
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        first = (await http.post("/responses", json=BODY)).json()
        assert first["output"][0]["type"] == "message"
        second = await http.post("/responses", json={**BODY, "input": first["output"]})
    with pytest.raises(json.JSONDecodeError):
        json.loads(second.json()["output"][0]["arguments"])


async def test_script_turn_fault_fails_each_request_once() -> None:
    turn = Turn.text("recovered", fault=Fault.http(503))
    fake = FakeXAI(Script([turn]))
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        first = await http.post("/responses", json=BODY)
        retry = await http.post("/responses", json=BODY)
        other = await http.post("/responses", json={**BODY, "input": "another conversation"})
    assert first.status_code == 503
    assert retry.status_code == 200
    assert retry.json()["output"][0]["content"][0]["text"] == "recovered"
    assert other.status_code == 503


async def test_global_latency_applies_to_every_request() -> None:
    fake = FakeXAI(latency=30)
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        with pytest.raises(httpx2.ReadTimeout):
            await http.get("/models", timeout=httpx2.Timeout(5, read=0.05))


def test_fault_from_dict_rejects_unknown_kinds_and_fields() -> None:
    assert Fault.from_dict({"kind": "http", "status": 500}) == Fault.http(500)
    assert Fault.from_dict({"kind": "quota_exhausted"}).status == 429
    with pytest.raises(ConfigError, match="unknown fault kind"):
        Fault.from_dict({"kind": "explode"})
    with pytest.raises(ConfigError, match="unknown fault field"):
        Fault.from_dict({"kind": "http", "colour": "red"})


def test_inject_needs_a_positive_count(fake: FakeXAI) -> None:
    with pytest.raises(ConfigError):
        fake.inject(Fault.drop(), times=0)
