"""Streaming: SSE assembled into the very same ModelResponse as a non-streamed call."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from agentkit.errors import ModelBehaviorError, StreamInterrupted
from agentkit.model import ModelRequest, ModelResponse, ResponseFailed, RetryPolicy, XAIClient

KEY = "xai-stream-test-key-000000"

BODY: dict[str, Any] = {
    "id": "5b7d0a5e-1111-2222-3333-444455556666",
    "object": "response",
    "model": "grok-code-fast-1",
    "status": "completed",
    "output": [
        {
            "type": "reasoning",
            "id": "rs_1",
            "status": "completed",
            "summary": [{"type": "summary_text", "text": "Need the weather."}],
        },
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [
                {
                    "type": "output_text",
                    "text": "Checking both cities.",
                    "logprobs": [],
                    "annotations": [{"type": "url_citation", "url": "https://example.org/w"}],
                }
            ],
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "weather",
            "arguments": '{"city":"Paris"}',
            "status": "completed",
        },
        {
            "type": "function_call",
            "id": "fc_2",
            "call_id": "call_2",
            "name": "weather",
            "arguments": '{"city":"Oslo"}',
            "status": "completed",
        },
    ],
    "usage": {
        "input_tokens": 50,
        "input_tokens_details": {"cached_tokens": 10},
        "output_tokens": 40,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 90,
    },
}


def _chunks(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _item_events(index: int, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The events the API streams for one output item, as captured for xAI."""
    empty = {**item, "content": []} if item["type"] == "message" else item
    if item["type"] == "function_call":
        empty = {**item, "arguments": ""}
    yield {"type": "response.output_item.added", "output_index": index, "item": empty}
    if item["type"] == "message":
        part = item["content"][0]
        yield {"type": "response.content_part.added", "output_index": index, "content_index": 0}
        for delta in _chunks(part["text"]):
            yield {
                "type": "response.output_text.delta",
                "item_id": item["id"],
                "output_index": index,
                "content_index": 0,
                "delta": delta,
            }
        for note in part["annotations"]:
            yield {
                "type": "response.output_text.annotation.added",
                "item_id": item["id"],
                "output_index": index,
                "content_index": 0,
                "annotation": note,
            }
        yield {"type": "response.output_text.done", "output_index": index, "text": part["text"]}
    if item["type"] == "function_call":
        for delta in _chunks(item["arguments"]):
            yield {
                "type": "response.function_call_arguments.delta",
                "item_id": item["id"],
                "output_index": index,
                "delta": delta,
            }
        yield {
            "type": "response.function_call_arguments.done",
            "item_id": item["id"],
            "output_index": index,
            "arguments": item["arguments"],
        }
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


def events_for(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A full Responses event stream whose outcome is `body`."""
    start = {**body, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
    ]
    for index, item in enumerate(body["output"]):
        events.extend(_item_events(index, item))
    events.append({"type": "response.completed", "response": body})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def sse(events: list[Any], *, named: bool = True, done: bool = True) -> bytes:
    """Encode events as SSE, with `event:` lines and a final `[DONE]` if asked."""
    lines: list[str] = []
    for event in events:
        if named and isinstance(event, dict):
            lines.append(f"event: {event['type']}")
        lines.append(f"data: {json.dumps(event) if not isinstance(event, str) else event}")
        lines.append("")
    if done:
        lines += ["data: [DONE]", ""]
    return ("\n".join(lines) + "\n").encode()


def client_for(*bodies: bytes, status: int = 200) -> tuple[XAIClient, list[httpx2.Request]]:
    seen: list[httpx2.Request] = []
    queue = list(bodies)

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        payload = queue.pop(0) if len(queue) > 1 else queue[0]
        streamed = json.loads(request.content).get("stream")
        kind = "text/event-stream" if streamed else "application/json"
        return httpx2.Response(status, content=payload, headers={"content-type": kind})

    client = XAIClient(
        api_key=KEY,
        transport=httpx2.MockTransport(handler),
        retry=RetryPolicy(rand=lambda: 0.0),
        sleep=_no_sleep,
    )
    return client, seen


async def _no_sleep(_: float) -> None:
    return None


REQUEST = ModelRequest(model="grok-code-fast-1", input=[{"role": "user", "content": "weather?"}])
STREAM = dataclasses.replace(REQUEST, stream=True)


def _comparable(response: ModelResponse) -> dict[str, Any]:
    view = dataclasses.asdict(response)
    for key in ("request_id", "latency_ms", "time_to_first_token_ms"):
        view["usage"].pop(key)
    view.pop("request_id")
    return view


async def test_streamed_equals_non_streamed() -> None:
    plain_client, _ = client_for(json.dumps(BODY).encode())
    streamed_client, seen = client_for(sse(events_for(BODY)))
    plain = await plain_client.respond(REQUEST)
    streamed = await streamed_client.respond(STREAM)
    assert json.loads(seen[0].content)["stream"] is True
    assert seen[0].headers["accept"] == "text/event-stream"
    assert _comparable(streamed) == _comparable(plain)
    assert [c.call_id for c in streamed.function_calls] == ["call_1", "call_2"]
    assert streamed.usage.time_to_first_token_ms is not None
    assert 0 <= streamed.usage.time_to_first_token_ms <= streamed.usage.latency_ms


async def test_assembles_from_events_when_completed_has_no_output() -> None:
    events = events_for(BODY)
    # no `.done` for the arguments, and the terminal payload carries no output
    events = [e for e in events if e["type"] != "response.function_call_arguments.done"]
    events = [
        {**e, "item": {**e["item"], "arguments": ""}}
        if e["type"] == "response.output_item.done" and e["item"]["type"] == "function_call"
        else e
        for e in events
    ]
    events[-1] = {**events[-1], "response": {**BODY, "output": []}}
    client, _ = client_for(sse(events, named=False, done=False))
    response = await client.respond(STREAM)
    assert [c.arguments for c in response.function_calls] == ['{"city":"Paris"}', '{"city":"Oslo"}']
    assert response.text == "Checking both cities."
    assert response.citations[0].url == "https://example.org/w"


async def test_calls_only_in_the_completed_payload_are_kept() -> None:
    events = [e for e in events_for(BODY) if e.get("item", {}).get("type") != "function_call"]
    events = [e for e in events if "function_call_arguments" not in e["type"]]
    client, _ = client_for(sse(events))
    response = await client.respond(STREAM)
    assert [c.call_id for c in response.function_calls] == ["call_1", "call_2"]


@pytest.mark.parametrize("cut", [5, -1])
async def test_a_stream_without_its_terminal_event_is_interrupted(cut: int) -> None:
    events = events_for(BODY)[:cut]
    client, seen = client_for(sse(events, done=False))
    with pytest.raises(StreamInterrupted, match="without its terminal event") as info:
        await client.respond(STREAM)
    assert info.value.request_id == seen[0].headers["x-request-id"]
    assert len(seen) == 1


@pytest.mark.parametrize("cut", [0, 1, 2])
async def test_a_stream_that_ends_before_any_output_is_retried(cut: int) -> None:
    # created and in_progress deliver nothing: sending the request again loses nothing
    events = events_for(BODY)[:cut]
    client, seen = client_for(sse(events, done=False), sse(events_for(BODY)))
    response = await client.respond(STREAM)
    assert response.text == "Checking both cities."
    assert response.usage.attempts == 2
    assert len({r.headers["x-request-id"] for r in seen}) == 1


async def test_a_terminal_event_cut_mid_line_is_interrupted() -> None:
    payload = sse(events_for(BODY), done=False)
    client, _ = client_for(payload[: len(payload) - 40])
    with pytest.raises(StreamInterrupted):
        await client.respond(STREAM)


async def test_failed_responses_and_bad_events_are_errors() -> None:
    failed = {
        "type": "response.failed",
        "response": {**BODY, "status": "failed", "error": {"message": "overloaded"}},
    }
    client, _ = client_for(sse([events_for(BODY)[0], failed]))
    with pytest.raises(ResponseFailed, match="overloaded"):
        await client.respond(STREAM)
    client, _ = client_for(sse(["{not json"]))
    with pytest.raises(ModelBehaviorError, match="not JSON"):
        await client.respond(STREAM)


# --- chat completions -------------------------------------------------------------------


CHAT_CHUNKS: list[dict[str, Any]] = [
    {
        "id": "c1",
        "model": "grok-3-mini",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"role": "assistant", "reasoning_content": "hmm"}}],
    },
    {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Let me "}}]},
    {"id": "c1", "choices": [{"index": 0, "delta": {"content": "check."}}]},
    {
        "id": "c1",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_7",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city":'},
                        }
                    ]
                },
            }
        ],
    },
    {
        "id": "c1",
        "choices": [
            {
                "index": 0,
                "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"Rome"}'}}]},
                "finish_reason": "tool_calls",
            }
        ],
    },
    {
        "id": "c1",
        "choices": [],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 6,
            "total_tokens": 19,
            "completion_tokens_details": {"reasoning_tokens": 4},
        },
    },
]
CHAT_BODY: dict[str, Any] = {
    "id": "c1",
    "model": "grok-3-mini",
    "object": "chat.completion",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": "Let me check.",
                "reasoning_content": "hmm",
                "tool_calls": [
                    {
                        "id": "call_7",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Rome"}'},
                    }
                ],
            },
        }
    ],
    "usage": CHAT_CHUNKS[-1]["usage"],
}


def chat_client(payload: bytes) -> XAIClient:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=payload)

    return XAIClient(api_key=KEY, endpoint="chat", transport=httpx2.MockTransport(handler))


async def test_chat_stream_equals_chat_non_streamed() -> None:
    streamed = await chat_client(sse(CHAT_CHUNKS, named=False)).respond(STREAM)
    plain = await chat_client(json.dumps(CHAT_BODY).encode()).respond(REQUEST)
    assert _comparable(streamed) == _comparable(plain)
    assert streamed.function_calls[0].arguments == '{"city":"Rome"}'
    assert streamed.usage.output_tokens == 10


async def test_chat_stream_cut_before_done_is_interrupted() -> None:
    with pytest.raises(StreamInterrupted):
        await chat_client(sse(CHAT_CHUNKS[:3], named=False, done=False)).respond(STREAM)
