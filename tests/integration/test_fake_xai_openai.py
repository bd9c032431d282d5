"""The official `openai` package, pointed at the fake over loopback, parses its answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from agentkit.testing import FakeXAI, Script, Turn, serve_in_thread

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"ticket_id": {"type": "integer"}},
    "required": ["ticket_id"],
}
RESPONSES_TOOLS: list[Any] = [
    {"type": "function", "name": "lookup_ticket", "parameters": PARAMETERS, "strict": True}
]
CHAT_TOOLS: list[Any] = [
    {"type": "function", "function": {"name": "lookup_ticket", "parameters": PARAMETERS}}
]
SCRIPT = Script(
    [
        Turn.calls([("lookup_ticket", {"ticket_id": 42}), ("lookup_ticket", {"ticket_id": 43})]),
        Turn.text("Both tickets are closed."),
    ]
)


@pytest.fixture
def client() -> Iterator[openai.OpenAI]:
    with serve_in_thread(FakeXAI(SCRIPT)) as server:
        sdk = openai.OpenAI(base_url=server.base_url, api_key="offline", max_retries=0)
        yield sdk
        sdk.close()


def test_responses_create_parses_function_calls(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="grok-4-1-fast-reasoning", input="status?", tools=RESPONSES_TOOLS
    )
    calls = [item for item in response.output if item.type == "function_call"]
    assert [json.loads(c.arguments) for c in calls] == [{"ticket_id": 42}, {"ticket_id": 43}]
    assert all(c.call_id.startswith("call_") for c in calls)
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens > 0

    outputs: list[Any] = [
        {"type": "function_call_output", "call_id": c.call_id, "output": "closed"} for c in calls
    ]
    history: list[Any] = [{"role": "user", "content": "status?"}]
    history += [c.model_dump(exclude_none=True) for c in calls]
    follow_up = client.responses.create(
        model="grok-4-1-fast-reasoning", input=history + outputs, tools=RESPONSES_TOOLS
    )
    assert follow_up.output_text == "Both tickets are closed."


def test_responses_stream_events_parse(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model="grok-4-1-fast-reasoning", input="status?", tools=RESPONSES_TOOLS
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert kinds.count("response.function_call_arguments.done") == 2
    assert [item.type for item in final.output] == ["function_call", "function_call"]


def test_responses_raw_stream_has_sequence_numbers(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(
            model="grok-4-1-fast-reasoning", input="status?", tools=RESPONSES_TOOLS, stream=True
        )
    )
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_chat_completion_parses_tool_calls(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="grok-3-mini",
        messages=[{"role": "user", "content": "status?"}],
        tools=CHAT_TOOLS,
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    names = [c.function.name for c in calls if c.type == "function"]
    assert names == ["lookup_ticket", "lookup_ticket"]
    assert completion.usage is not None
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens > 0


def test_chat_stream_accumulates_tool_calls(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model="grok-3-mini",
        messages=[{"role": "user", "content": "status?"}],
        tools=CHAT_TOOLS,
        stream_options={"include_usage": True},
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [json.loads(c.function.arguments) for c in calls] == [
        {"ticket_id": 42},
        {"ticket_id": 43},
    ]
    assert final.usage is not None
    assert final.usage.prompt_tokens > 0


def test_chat_raw_stream_ends_with_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="grok-3-mini",
            messages=[{"role": "user", "content": "status?"}],
            tools=CHAT_TOOLS,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-2].choices[0].finish_reason == "tool_calls"


def test_sdk_maps_fake_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.responses.retrieve("00000000-0000-4000-8000-000000000000")
    assert raised.value.status_code == 404
