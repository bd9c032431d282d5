"""Request bodies, response parsing, capabilities and usage: pure functions, no transport."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.errors import ConfigError, ModelBehaviorError, UnsupportedParameter
from agentkit.model.capabilities import CapabilityTable, ModelCapabilities
from agentkit.model.chat_wire import build_chat_body, parse_chat_body, to_chat_messages
from agentkit.model.pricing import Price, PriceTable
from agentkit.model.responses_wire import build_responses_body, parse_responses_body
from agentkit.model.types import ModelRequest
from agentkit.model.usage import normalise_usage

PRICES = PriceTable.default()

WEB_SEARCH_CAPTURE: dict[str, Any] = {
    "created_at": 1762189566,
    "id": "25de2f84-163c-6e9e-e42e-cd1dbd6f9ed0",
    "model": "grok-4-fast-reasoning",
    "object": "response",
    "output": [
        {
            "arguments": '{"query":"what is xAI","num_results":5}',
            "call_id": "",
            "name": "web_search",
            "type": "web_search_call",
            "id": "fc_25de2f84-163c-6e9e-e42e-cd1dbd6f9ed0_0",
            "status": "completed",
        },
        {
            "content": [
                {
                    "type": "output_text",
                    "text": "xAI is an American artificial intelligence company.",
                    "logprobs": [],
                    "annotations": [
                        {"type": "url_citation", "url": "https://x.ai/company"},
                        {"type": "url_citation", "url": "https://x.ai/"},
                    ],
                }
            ],
            "id": "msg_25de2f84-163c-6e9e-e42e-cd1dbd6f9ed0",
            "role": "assistant",
            "type": "message",
            "status": "completed",
        },
    ],
    "parallel_tool_calls": True,
    "status": "completed",
    "usage": {
        "input_tokens": 1941,
        "input_tokens_details": {"cached_tokens": 947},
        "output_tokens": 583,
        "output_tokens_details": {"reasoning_tokens": 380},
        "total_tokens": 2524,
        "num_sources_used": 0,
        "num_server_side_tools_used": 1,
    },
}
"""Shape of the captured grok-4-fast-reasoning web search answer (text shortened)."""


def _request(**kwargs: Any) -> ModelRequest:
    fields: dict[str, Any] = {"model": "grok-4-1-fast-non-reasoning", "input": []}
    fields.update(kwargs)
    return ModelRequest(**fields)


def _parse(body: Any) -> Any:
    return parse_responses_body(body, request_id="rid", prices=PRICES, fallback_model="m")


# --- request building -------------------------------------------------------------------


def test_responses_body_sends_parallel_tool_calls_even_when_default() -> None:
    body = build_responses_body(_request(), reasoning_model=False)
    assert body["parallel_tool_calls"] is True
    body = build_responses_body(_request(parallel_tool_calls=False), reasoning_model=False)
    assert body["parallel_tool_calls"] is False


def test_responses_body_omits_unset_fields_and_maps_nested_ones() -> None:
    request = _request(
        input=[{"role": "user", "content": "hi"}],
        instructions="be brief",
        previous_response_id="prev",
        reasoning_effort="low",
        text_format={"type": "json_object"},
        stream=True,
        temperature=0.0,
    )
    body = build_responses_body(request, reasoning_model=None)
    assert body == {
        "model": "grok-4-1-fast-non-reasoning",
        "input": [{"role": "user", "content": "hi"}],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "instructions": "be brief",
        "previous_response_id": "prev",
        "temperature": 0.0,
        "reasoning": {"effort": "low"},
        "text": {"format": {"type": "json_object"}},
        "stream": True,
    }


def test_unstored_reasoning_requests_ask_for_encrypted_reasoning() -> None:
    body = build_responses_body(_request(store=False), reasoning_model=True)
    assert body["include"] == ["reasoning.encrypted_content"]
    assert "include" not in build_responses_body(_request(store=False), reasoning_model=False)


def test_chat_messages_from_responses_items() -> None:
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "function_call", "call_id": "c1", "name": "w", "arguments": '{"c":"A"}'},
        {"type": "function_call", "call_id": "c2", "name": "w", "arguments": '{"c":"B"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "sun"},
        {"type": "function_call_output", "call_id": "c2", "output": "rain"},
    ]
    messages = to_chat_messages("sys", items)
    assert messages == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"c":"A"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"c":"B"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sun"},
        {"role": "tool", "tool_call_id": "c2", "content": "rain"},
    ]


def test_chat_body_wraps_function_tools_and_forced_choice() -> None:
    tool = {"type": "function", "name": "w", "description": "d", "parameters": {"type": "object"}}
    request = _request(
        tools=[tool],
        tool_choice={"type": "function", "name": "w"},
        parallel_tool_calls=False,
        max_output_tokens=50,
        stream=True,
    )
    body = build_chat_body(request)
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "w", "description": "d", "parameters": tool["parameters"]},
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "w"}}
    assert body["parallel_tool_calls"] is False
    assert body["max_completion_tokens"] == 50
    assert body["stream_options"] == {"include_usage": True}


def test_chat_body_rejects_what_chat_cannot_carry() -> None:
    with pytest.raises(UnsupportedParameter, match="web_search"):
        build_chat_body(_request(tools=[{"type": "web_search"}]))
    with pytest.raises(UnsupportedParameter, match="previous_response_id"):
        build_chat_body(_request(previous_response_id="x"))
    with pytest.raises(ConfigError, match="function_call_output"):
        build_chat_body(_request(input=[{"type": "function_call_output", "output": "x"}]))


# --- capabilities -----------------------------------------------------------------------


@pytest.mark.parametrize("parameter", ["presence_penalty", "frequency_penalty", "stop"])
@pytest.mark.parametrize("model", ["grok-4", "grok-3-mini", "grok-4.3", "grok-code-fast-1"])
def test_reasoning_models_reject_penalties_and_stop(model: str, parameter: str) -> None:
    value: Any = ["END"] if parameter == "stop" else 0.5
    with pytest.raises(UnsupportedParameter) as info:
        CapabilityTable.default().check(_request(model=model, **{parameter: value}))
    assert info.value.parameter == parameter


@pytest.mark.parametrize("model", ["grok-4", "grok-4-0709", "grok-4-fast-reasoning"])
def test_grok_4_rejects_reasoning_effort(model: str) -> None:
    with pytest.raises(UnsupportedParameter, match="reasoning_effort"):
        CapabilityTable.default().check(_request(model=model, reasoning_effort="high"))


@pytest.mark.parametrize(("model", "effort"), [("grok-3-mini", "high"), ("grok-4.3", "none")])
def test_models_that_accept_reasoning_effort(model: str, effort: str) -> None:
    caps = CapabilityTable.default().check(_request(model=model, reasoning_effort=effort))
    assert caps.reasoning is True


def test_unknown_models_are_permissive_and_overrides_win() -> None:
    request = _request(model="grok-unknown-7", stop=["x"], reasoning_effort="max")
    assert CapabilityTable.default().check(request).reasoning is None
    table = CapabilityTable.default().with_entries(
        {"grok-unknown-*": ModelCapabilities(reasoning=True, rejects=frozenset({"stop"}))}
    )
    with pytest.raises(UnsupportedParameter, match="'stop'"):
        table.check(request)
    relaxed = CapabilityTable.default().with_entries({"grok-4": ModelCapabilities()})
    relaxed.check(_request(model="grok-4", reasoning_effort="high"))


# --- parsing ----------------------------------------------------------------------------


def test_parses_the_web_search_capture() -> None:
    response = _parse(WEB_SEARCH_CAPTURE)
    assert response.id == "25de2f84-163c-6e9e-e42e-cd1dbd6f9ed0"
    assert response.function_calls == []
    [server] = response.server_tool_calls
    assert (server.type, server.name, server.status) == (
        "web_search_call",
        "web_search",
        "completed",
    )
    assert response.text.startswith("xAI is an American")
    assert [c.url for c in response.citations] == ["https://x.ai/company", "https://x.ai/"]
    usage = response.usage
    assert (usage.input_tokens, usage.cached_tokens, usage.output_tokens) == (1941, 947, 583)
    assert (usage.reasoning_tokens, usage.total_tokens, usage.server_side_tool_calls) == (
        380,
        2524,
        1,
    )


STREAM_COMPLETED_CAPTURE: dict[str, Any] = {
    "sequence_number": 697,
    "type": "response.completed",
    "response": {
        "created_at": 1763853500,
        "id": "769f3302-64f9-4c72-2b48-860c87fd9b2a",
        "model": "grok-code-fast-1",
        "object": "response",
        "output": [
            {
                "id": "rs_769f3302-64f9-4c72-2b48-860c87fd9b2a",
                "summary": [{"text": "First, the question is about food.", "type": "summary_text"}],
                "type": "reasoning",
                "status": "completed",
            },
            {
                "content": [
                    {
                        "type": "output_text",
                        "text": "### Overview",
                        "logprobs": [],
                        "annotations": [],
                    }
                ],
                "id": "msg_769f3302-64f9-4c72-2b48-860c87fd9b2a",
                "role": "assistant",
                "type": "message",
                "status": "completed",
            },
        ],
        "parallel_tool_calls": True,
        "reasoning": {"effort": None, "summary": None},
        "status": "completed",
        "usage": {
            "input_tokens": 216,
            "input_tokens_details": {"cached_tokens": 192},
            "output_tokens": 863,
            "output_tokens_details": {"reasoning_tokens": 237},
            "total_tokens": 1079,
            "num_sources_used": 0,
            "num_server_side_tools_used": 0,
        },
    },
}
"""Shape of a captured `response.completed` event from grok-code-fast-1 (text shortened)."""


def test_parses_the_stream_completed_capture_with_reasoning() -> None:
    response = _parse(STREAM_COMPLETED_CAPTURE["response"])
    assert response.reasoning_summary == "First, the question is about food."
    assert response.text == "### Overview"
    assert response.usage.cost_source == "price_table"
    # grok-code-fast-1: (216-192) * 0.20 + 192 * 0.02 + 863 * 1.50 USD per 1M tokens
    assert response.usage.cost_usd == pytest.approx((24 * 0.20 + 192 * 0.02 + 863 * 1.5) / 1e6)


def test_function_calls_parse_with_raw_arguments() -> None:
    body = {
        "id": "r1",
        "model": "grok-4",
        "status": "completed",
        "output": [
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "add",
                "arguments": '{"a": 1}',
                "status": "completed",
            },
        ],
    }
    [call] = _parse(body).function_calls
    assert (call.call_id, call.name, call.arguments, call.item_id) == (
        "call_1",
        "add",
        '{"a": 1}',
        "fc_1",
    )


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ([], "not a JSON object"),
        ({"model": "m", "output": []}, "'id'"),
        ({"id": "r", "output": {}}, "'output' is not a list"),
        ({"id": "r", "output": [{"no": "type"}]}, "no 'type'"),
        (
            {
                "id": "r",
                "output": [
                    {"type": "function_call", "call_id": "c", "name": "f", "arguments": {"a": 1}}
                ],
            },
            "'arguments'",
        ),
        (
            {"id": "r", "output": [{"type": "message", "content": [{"type": "output_text"}]}]},
            "'text'",
        ),
    ],
)
def test_malformed_bodies_name_what_is_wrong(body: Any, what: str) -> None:
    with pytest.raises(ModelBehaviorError, match=what):
        _parse(body)


def test_chat_completion_becomes_responses_items() -> None:
    body = {
        "id": "chat-1",
        "model": "grok-3-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "",
                    "reasoning_content": "thinking",
                    "tool_calls": [
                        {
                            "id": "call_9",
                            "type": "function",
                            "function": {"name": "add", "arguments": '{"a":1}'},
                        }
                    ],
                },
            }
        ],
        "citations": ["https://example.org/"],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 35,
            "completion_tokens_details": {"reasoning_tokens": 20},
        },
    }
    response = parse_chat_body(body, request_id="rid", prices=PRICES, fallback_model="x")
    assert [item["type"] for item in response.output] == ["reasoning", "function_call"]
    assert response.function_calls[0].call_id == "call_9"
    assert response.reasoning_summary == "thinking"
    assert response.citations[0].url == "https://example.org/"
    # chat's completion_tokens exclude reasoning; normalised they include it
    assert (response.usage.output_tokens, response.usage.reasoning_tokens) == (25, 20)
    assert response.usage.endpoint == "chat"


# --- usage and cost ---------------------------------------------------------------------


def test_cost_prefers_api_ticks_over_the_price_table() -> None:
    raw = {"input_tokens": 1000, "output_tokens": 10, "cost_in_usd_ticks": 123_000_000}
    usage = normalise_usage(
        raw, endpoint="responses", request_id="r", model="grok-4", prices=PRICES
    )
    assert (usage.cost_usd, usage.cost_source) == (pytest.approx(0.0123), "api")


def test_cost_from_overridden_prices_includes_server_side_tools() -> None:
    prices = PRICES.with_prices({"my-model": Price(input=1.0, cached_input=0.5, output=2.0)})
    raw = {
        "input_tokens": 1_000_000,
        "input_tokens_details": {"cached_tokens": 400_000},
        "output_tokens": 500_000,
        "server_side_tool_usage_details": {"web_search_calls": 2, "x_search_calls": 1},
    }
    usage = normalise_usage(
        raw, endpoint="responses", request_id="r", model="my-model", prices=prices
    )
    assert usage.cost_source == "price_table"
    assert usage.cost_usd == pytest.approx(0.6 + 0.2 + 1.0 + 3 * 0.005)


def test_unknown_model_cost_is_marked_unknown() -> None:
    usage = normalise_usage(
        {"input_tokens": 5}, endpoint="responses", request_id="r", model="nobody", prices=PRICES
    )
    assert (usage.cost_usd, usage.cost_source, usage.total_tokens) == (0.0, "unknown", 5)


def test_a_failed_response_is_an_error_naming_the_reason() -> None:
    from agentkit.model import ResponseFailed

    with pytest.raises(ResponseFailed, match="overloaded"):
        _parse({"id": "r", "status": "failed", "output": [], "error": {"message": "overloaded"}})
