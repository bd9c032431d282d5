"""The fake's /v1/responses, /v1/models and stored responses, over the in-process transport."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from agentkit.errors import ConfigError
from agentkit.testing import FakeXAI, Script, Turn, parse_sse

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
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RESPONSE_KEYS = {
    "created_at", "id", "max_output_tokens", "model", "object", "output", "parallel_tool_calls",
    "previous_response_id", "reasoning", "temperature", "text", "tool_choice", "tools", "top_p",
    "usage", "user", "incomplete_details", "status", "store", "metadata",
}  # fmt: skip


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "grok-4-1-fast-reasoning", "input": "hi", "tools": TOOLS, **fields}


@pytest.fixture
def fake() -> FakeXAI:
    return FakeXAI(
        Script(
            [
                Turn.call("lookup_ticket", {"ticket_id": 42}),
                Turn.text("Ticket 42 is closed."),
            ]
        )
    )


@pytest.fixture
async def client(fake: FakeXAI) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://fake/v1") as http:
        yield http


async def test_function_call_answer_has_the_wire_shape(client: httpx2.AsyncClient) -> None:
    response = await client.post("/responses", json=body())
    assert response.status_code == 200
    data = response.json()
    assert set(data) == RESPONSE_KEYS
    assert UUID.match(data["id"])
    assert data["object"] == "response"
    assert data["status"] == "completed"
    (call,) = data["output"]
    assert call["type"] == "function_call"
    assert call["id"].startswith("fc_")
    assert call["call_id"].startswith("call_")
    assert call["name"] == "lookup_ticket"
    assert json.loads(call["arguments"]) == {"ticket_id": 42}


async def test_text_answer_message_id_follows_the_response_id(client: httpx2.AsyncClient) -> None:
    first = (await client.post("/responses", json=body())).json()
    call = first["output"][0]
    output = {"type": "function_call_output", "call_id": call["call_id"], "output": "closed"}
    items = [{"role": "user", "content": "hi"}, call, output]
    data = (await client.post("/responses", json=body(input=items))).json()
    (message,) = data["output"]
    assert message["id"] == f"msg_{data['id']}"
    assert message["role"] == "assistant"
    assert message["content"][0] == {
        "type": "output_text",
        "text": "Ticket 42 is closed.",
        "logprobs": [],
        "annotations": [],
    }


async def test_usage_counts_reasoning_and_cost(client: httpx2.AsyncClient) -> None:
    usage = (await client.post("/responses", json=body())).json()["usage"]
    reasoning = usage["output_tokens_details"]["reasoning_tokens"]
    assert reasoning > 0
    assert usage["output_tokens"] > reasoning  # output includes reasoning
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["cost_in_usd_ticks"] > 0
    assert usage["input_tokens_details"] == {"cached_tokens": 0}


async def test_non_reasoning_model_spends_no_reasoning_tokens(client: httpx2.AsyncClient) -> None:
    answer = await client.post("/responses", json=body(model="grok-4-1-fast-non-reasoning"))
    assert answer.json()["usage"]["output_tokens_details"]["reasoning_tokens"] == 0


async def test_every_answer_carries_the_servers_own_request_id(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    first = await client.post("/responses", json=body(), headers={"X-Request-Id": "req-123"})
    second = await client.post("/responses", json=body(), headers={"X-Request-Id": "req-123"})
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(uuid.UUID(i) for i in ids)
    assert len(set(ids)) == 2  # one per HTTP request, as xAI names them
    assert [r.server_request_id for r in fake.requests] == ids
    assert [r.request_id for r in fake.requests] == ["req-123", "req-123"]


async def test_stream_events_in_order_with_sequence_numbers(client: httpx2.AsyncClient) -> None:
    response = await client.post("/responses", json=body(stream=True))
    assert response.headers["content-type"] == "text/event-stream"
    *events, done = parse_sse(response.text)
    assert done == "[DONE]"  # a Responses stream ends as the OpenAPI spec says it does
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["response"]["status"] == "in_progress"
    final = events[-1]["response"]
    assert set(final) == RESPONSE_KEYS
    assert final["status"] == "completed"
    deltas = "".join(e["delta"] for e in events if e["type"].endswith("arguments.delta"))
    assert deltas == events[4]["arguments"] == final["output"][0]["arguments"]
    assert events[4]["item_id"] == final["output"][0]["id"]


async def test_stream_text_events_rebuild_the_text(client: httpx2.AsyncClient) -> None:
    text = "word " * 40
    fake = FakeXAI(Script([Turn.text(text)]))
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        *events, _ = parse_sse((await http.post("/responses", json=body(stream=True))).text)
    kinds = [e["type"] for e in events]
    assert kinds[2:5] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == text


async def test_reasoning_turn_streams_summary_events() -> None:
    fake = FakeXAI(Script([Turn(answer="ok", reasoning="Thinking it over.")]))
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        *events, _ = parse_sse((await http.post("/responses", json=body(stream=True))).text)
    final = events[-1]["response"]
    assert [i["type"] for i in final["output"]] == ["reasoning", "message"]
    assert final["output"][0]["id"] == f"rs_{final['id']}"
    kinds = [e["type"] for e in events]
    assert "response.reasoning_summary_text.delta" in kinds
    assert kinds.index("response.reasoning_summary_part.done") < kinds.index(
        "response.content_part.added"
    )


async def test_search_turn_cites_every_result() -> None:
    results = [
        {"url": "https://x.ai/company", "title": "xAI"},
        {"url": "https://example.com/a", "title": "A"},
    ]
    turn = Turn.search(kind="web", query="what is xAI", results=results, text="xAI builds Grok.")
    fake = FakeXAI(Script([turn]))
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        data = (await http.post("/responses", json=body())).json()
    search, message = data["output"]
    assert set(search) == {"arguments", "call_id", "name", "type", "id", "status"}
    assert set(message) == {"content", "id", "role", "type", "status"}
    assert search["type"] == "web_search_call"
    assert search["id"] == f"fc_{data['id']}_0"
    assert search["call_id"] == ""
    assert json.loads(search["arguments"])["query"] == "what is xAI"
    part = message["content"][0]
    assert part["text"].startswith("xAI builds Grok.")
    for annotation, result in zip(part["annotations"], results, strict=True):
        assert annotation["type"] == "url_citation"
        assert annotation["url"] == result["url"]
        assert annotation["title"] == result["title"]
        cited = part["text"][annotation["start_index"] : annotation["end_index"]]
        assert result["url"] in cited
    assert data["usage"]["num_server_side_tools_used"] == 1
    assert data["usage"]["server_side_tool_usage_details"]["web_search_calls"] == 1
    assert data["usage"]["num_sources_used"] == 2


@pytest.mark.parametrize("item", ["", "custom_tool_call", "x_search_call"])
async def test_x_search_turn_streams_annotation_events(item: str) -> None:
    turn = Turn.search(
        kind="x", query="grok", results=[{"url": "https://x.com/a/1"}], text="Yes.", item=item
    )
    fake = FakeXAI(Script([turn]))
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        *events, _ = parse_sse((await http.post("/responses", json=body(stream=True))).text)
    search = events[-1]["response"]["output"][0]
    assert search["type"] == (item or "custom_tool_call")  # as xAI sends X searches
    assert search["name"] == "x_keyword_search"
    arguments = search["input"] if search["type"] == "custom_tool_call" else search["arguments"]
    assert json.loads(arguments)["query"] == "grok"
    added = [e for e in events if e["type"] == "response.output_text.annotation.added"]
    assert [a["annotation"]["url"] for a in added] == ["https://x.com/a/1"]


def test_a_search_item_type_must_fit_its_kind() -> None:
    with pytest.raises(ConfigError, match="arrives as one of"):
        Turn.search(kind="web", query="q", results=[], text="t", item="custom_tool_call")


async def test_stored_response_can_be_fetched_and_deleted(client: httpx2.AsyncClient) -> None:
    created = (await client.post("/responses", json=body())).json()
    fetched = await client.get(f"/responses/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == created
    deleted = await client.delete(f"/responses/{created['id']}")
    assert deleted.json() == {"id": created["id"], "object": "response", "deleted": True}
    assert (await client.get(f"/responses/{created['id']}")).status_code == 404


async def test_unstored_response_is_not_retrievable(client: httpx2.AsyncClient) -> None:
    created = (await client.post("/responses", json=body(store=False))).json()
    missing = await client.get(f"/responses/{created['id']}")
    assert missing.status_code == 404
    assert set(missing.json()) == {"code", "error"}
    follow_up = await client.post("/responses", json=body(previous_response_id=created["id"]))
    assert follow_up.status_code == 404


async def test_previous_response_id_advances_the_script(client: httpx2.AsyncClient) -> None:
    first = (await client.post("/responses", json=body())).json()
    output = {
        "type": "function_call_output",
        "call_id": first["output"][0]["call_id"],
        "output": "closed",
    }
    second = await client.post(
        "/responses", json=body(previous_response_id=first["id"], input=[output])
    )
    data = second.json()
    assert data["output"][0]["type"] == "message"
    assert data["previous_response_id"] == first["id"]
    assert data["usage"]["input_tokens_details"]["cached_tokens"] == first["usage"]["total_tokens"]


async def test_models_lists_grok_models(client: httpx2.AsyncClient) -> None:
    data = (await client.get("/models")).json()
    assert data["object"] == "list"
    ids = {m["id"] for m in data["data"]}
    assert {"grok-4-0709", "grok-code-fast-1"} <= ids
    assert all(m["owned_by"] == "xai" for m in data["data"])


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("GET", "/responses", 405), ("POST", "/models", 405)],
)
async def test_unknown_routes_and_methods_get_flat_errors(
    client: httpx2.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    assert set(response.json()) == {"code", "error"}


async def test_requests_are_recorded(fake: FakeXAI, client: httpx2.AsyncClient) -> None:
    await client.post("/responses", json=body(), headers={"X-Request-Id": "r1"})
    await client.get("/models")
    assert fake.count() == 1
    assert fake.count("/v1/models") == 1
    assert fake.count(None) == 2
    first = fake.requests[0]
    assert (first.method, first.path, first.request_id) == ("POST", "/v1/responses", "r1")
    assert first.json["tools"] == TOOLS
    assert first.headers["x-request-id"] == "r1"


async def test_counts_remain_when_recording_is_off() -> None:
    fake = FakeXAI(record=False)
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        await http.post("/responses", json=body())
        await http.get("/models")
    assert fake.requests == []
    assert (fake.count(), fake.count(None)) == (1, 2)
