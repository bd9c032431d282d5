"""The fake's /v1/chat/completions, plain and streamed, over the in-process transport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from agentkit.testing import FakeXAI, Script, Turn, parse_sse

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_ticket",
            "parameters": {
                "type": "object",
                "properties": {"ticket_id": {"type": "integer", "minimum": 7}},
                "required": ["ticket_id"],
            },
        },
    }
]
SCRIPT = Script(
    [
        Turn.calls([("lookup_ticket", {"ticket_id": 1}), ("lookup_ticket", {"ticket_id": 2})]),
        Turn.text("Both tickets are closed, as the records show."),
    ]
)


def body(**fields: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": "status of 1 and 2?"}]
    return {"model": "grok-3-mini", "messages": messages, "tools": TOOLS, **fields}


@pytest.fixture
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    fake = FakeXAI(SCRIPT)
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://fake/v1") as http:
        yield http


def answered(first: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation after the first answer, with tool results appended."""
    message = first["choices"][0]["message"]
    results = [
        {"role": "tool", "tool_call_id": call["id"], "content": "closed"}
        for call in message["tool_calls"]
    ]
    return [*body()["messages"], message, *results]


async def test_parallel_tool_calls_answer(client: httpx2.AsyncClient) -> None:
    data = (await client.post("/chat/completions", json=body())).json()
    assert data["object"] == "chat.completion"
    choice = data["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] == ""
    calls = message["tool_calls"]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [
        {"ticket_id": 1},
        {"ticket_id": 2},
    ]
    assert all(c["id"].startswith("call_") and c["type"] == "function" for c in calls)
    assert len({c["id"] for c in calls}) == 2


async def test_assistant_messages_advance_the_script(client: httpx2.AsyncClient) -> None:
    first = (await client.post("/chat/completions", json=body())).json()
    second = await client.post("/chat/completions", json=body(messages=answered(first)))
    choice = second.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"].startswith("Both tickets")
    assert "tool_calls" not in choice["message"]


async def test_usage_keeps_reasoning_apart(client: httpx2.AsyncClient) -> None:
    usage = (await client.post("/chat/completions", json=body())).json()["usage"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] + reasoning
    assert usage["cost_in_usd_ticks"] > 0


async def test_stream_ends_with_usage_chunk_and_done(client: httpx2.AsyncClient) -> None:
    streamed = await client.post(
        "/chat/completions", json=body(stream=True, stream_options={"include_usage": True})
    )
    payloads = parse_sse(streamed.text)
    assert payloads[-1] == "[DONE]"
    usage_chunk = payloads[-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["prompt_tokens"] > 0
    chunks = payloads[:-2]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    calls = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert [c["index"] for c in calls] == [0, 1]
    assert json.loads(calls[1]["function"]["arguments"]) == {"ticket_id": 2}


async def test_stream_without_usage_option_has_no_usage_chunk(client: httpx2.AsyncClient) -> None:
    payloads = parse_sse((await client.post("/chat/completions", json=body(stream=True))).text)
    assert payloads[-1] == "[DONE]"
    assert all(p["choices"] for p in payloads[:-1])


async def test_streamed_text_rebuilds_the_answer(client: httpx2.AsyncClient) -> None:
    first = (await client.post("/chat/completions", json=body())).json()
    streamed = await client.post(
        "/chat/completions", json=body(messages=answered(first), stream=True)
    )
    chunks = parse_sse(streamed.text)[:-1]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "Both tickets are closed, as the records show."


@pytest.mark.parametrize("content", [None, []])
async def test_assistant_tool_calls_with_null_content_are_refused(
    client: httpx2.AsyncClient, content: Any
) -> None:
    first = (await client.post("/chat/completions", json=body())).json()
    messages = answered(first)
    messages[1] = dict(messages[1], content=content)
    refused = await client.post("/chat/completions", json=body(messages=messages))
    assert refused.status_code == 400
    assert "content" in refused.json()["error"]


async def test_offline_model_fits_the_schema_in_chat() -> None:
    fake = FakeXAI()
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        data = (await http.post("/chat/completions", json=body())).json()
    (call,) = data["choices"][0]["message"]["tool_calls"]
    assert json.loads(call["function"]["arguments"]) == {"ticket_id": 7}
