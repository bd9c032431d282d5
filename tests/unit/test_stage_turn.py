"""Stage turn: the next request of a run, and one model response folded into the run state."""

from __future__ import annotations

from typing import Any

from agentkit.decision import Decision, Principal
from agentkit.model.types import Citation, ModelResponse, ServerToolCall, Usage
from agentkit.pipeline.run_config import RunConfig
from agentkit.pipeline.turn import (
    NOT_OFFERED,
    fold_response,
    model_request,
    offered_server_tools,
    server_tool_name,
)
from agentkit.state import RunResult, Step


def a_run() -> RunResult:
    return RunResult(
        run_id="r1",
        agent="a",
        model="m",
        principal=Principal(user_id="ana"),
        conversation=[{"role": "user", "content": "hi"}],
    )


def response(
    output: list[dict[str, Any]],
    *,
    server: list[ServerToolCall] | None = None,
    citations: list[Citation] | None = None,
    cost: float = 0.01,
) -> ModelResponse:
    usage = Usage(
        request_id="req-1",
        model="m",
        endpoint="responses",
        input_tokens=10,
        output_tokens=5,
        reasoning_tokens=2,
        cached_tokens=3,
        total_tokens=15,
        cost_usd=cost,
    )
    return ModelResponse(
        id="resp-1",
        model="m",
        status="completed",
        output=output,
        usage=usage,
        request_id="req-1",
        server_tool_calls=server or [],
        citations=citations or [],
    )


def request_of(run: RunResult, config: RunConfig) -> Any:
    return model_request(
        run,
        model="grok",
        instructions="be brief",
        tools=[{"type": "web_search"}],
        text_format=None,
        config=config,
    )


def test_a_request_resends_the_whole_conversation_by_default() -> None:
    run = a_run()
    run.previous_response_id = "resp-0"
    run.server_has = 1
    config = RunConfig(parallel_tool_calls=False, request_options={"temperature": 0.2})
    request = request_of(run, config)
    assert request.input == run.conversation
    assert request.input is not run.conversation
    assert request.previous_response_id is None
    assert (request.model, request.instructions, request.user) == ("grok", "be brief", "ana")
    assert request.tools == [{"type": "web_search"}]
    assert request.parallel_tool_calls is False
    assert request.stream is False
    assert request.temperature == 0.2


def test_a_chained_request_sends_only_what_the_server_lacks() -> None:
    run = a_run()
    run.conversation.append({"type": "function_call_output", "call_id": "c1", "output": "x"})
    run.previous_response_id = "resp-0"
    run.server_has = 1
    request = request_of(run, RunConfig(chain_responses=True, stream=True))
    assert request.input == [run.conversation[1]]
    assert request.previous_response_id == "resp-0"
    assert request.stream is True


def test_the_first_chained_request_sends_everything() -> None:
    run = a_run()
    request = request_of(run, RunConfig(chain_responses=True))
    assert request.input == run.conversation
    assert request.previous_response_id is None


def test_folding_a_response_advances_the_turn_and_keeps_what_is_resent() -> None:
    run = a_run()
    call = {"type": "function_call", "call_id": "c1", "name": "t", "arguments": "{}"}
    message = {"type": "message", "role": "assistant", "content": []}
    search = {"type": "web_search_call", "id": "ws1"}
    steps = fold_response(run, response([call, search, message]), now=3.0)
    assert steps == []
    assert run.turn == 1
    assert run.conversation[1:] == [call, message]
    assert run.previous_response_id == "resp-1"
    assert run.server_has == 3


def test_usage_and_citations_add_up_over_turns() -> None:
    run = a_run()
    cited = [Citation("https://a.example"), Citation("https://b.example")]
    fold_response(run, response([], citations=cited), now=1.0)
    fold_response(run, response([], citations=[Citation("https://a.example")]), now=2.0)
    totals = run.totals
    assert (totals.requests, totals.input_tokens, totals.output_tokens) == (2, 20, 10)
    assert (totals.reasoning_tokens, totals.cached_tokens, totals.total_tokens) == (4, 6, 30)
    assert totals.cost_usd == 0.02
    assert [u["request_id"] for u in run.usage] == ["req-1", "req-1"]
    assert run.citations == ["https://a.example", "https://b.example"]
    assert run.turn == 2


def test_server_side_tool_calls_become_untrusted_steps() -> None:
    run = a_run()
    calls = [
        ServerToolCall("web_search_call", "", '{"query": "x"}', "ws1", "completed"),
        ServerToolCall("custom_tool_call", "x_search", "[1]", "xs1", "completed"),
        ServerToolCall("x_search_call", "", "", "xs2", "completed"),
    ]
    allowed = Decision(
        action="allow", reason="the policy allows web_search", rule="tools.web_search"
    )
    steps = fold_response(
        run, response([], server=calls), now=4.5, server_decisions={"web_search": allowed}
    )
    assert run.steps == steps
    assert steps[0] == Step(
        call_id="ws1",
        tool="web_search",
        turn=1,
        raw_arguments='{"query": "x"}',
        arguments={"query": "x"},
        status="server",
        decision=allowed,
        untrusted=True,
        started_at=4.5,
    )
    assert steps[2].decision == NOT_OFFERED, "a tool the request did not offer is on record"
    assert steps[1].tool == "custom_tool"
    assert steps[1].arguments is None
    assert steps[2].arguments == {}


def test_a_server_call_with_broken_arguments_has_none() -> None:
    run = a_run()
    broken = ServerToolCall("web_search_call", "", "{", "ws1", "completed")
    [step] = fold_response(run, response([], server=[broken]), now=0.0)
    assert step.arguments is None


def test_a_server_tool_without_the_call_suffix_keeps_its_type_as_name() -> None:
    assert server_tool_name(ServerToolCall("web_search_call", "n", "", "i", "s")) == "web_search"
    assert server_tool_name(ServerToolCall("_call", "named", "", "i", "s")) == "named"


def test_only_server_tools_the_policy_allows_now_are_offered() -> None:
    entries = [{"type": "web_search"}, {"type": "x_search", "allowed_x_handles": ["a"]}]
    verdicts = {
        "web_search": Decision(action="confirm", reason="r", rule="tools.web_search"),
        "x_search": Decision(action="allow", reason="r", rule="tools.x_search"),
    }
    offered, decisions = offered_server_tools(entries, lambda name, _class: verdicts[name])
    assert offered == [entries[1]], "xAI cannot pause a search for a person: confirm leaves it out"
    assert decisions == verdicts


def test_a_remote_mcp_entry_is_decided_per_tool_and_the_entries_after_it_still_are() -> None:
    from agentkit.tools.mcp.remote import xai_mcp

    mcp = xai_mcp(
        "jira", "https://mcp.example.com", tools={"search": "read", "drop": "destructive"}
    )
    entries = [mcp, {"type": "web_search"}]
    verdicts = {
        "jira.search": Decision(action="allow", reason="r", rule="tools.jira.search"),
        "jira.drop": Decision(action="confirm", reason="r", rule="floor"),
        "web_search": Decision(action="allow", reason="r", rule="tools.web_search"),
    }
    offered, decisions = offered_server_tools(entries, lambda name, _class: verdicts[name])
    assert [entry["type"] for entry in offered] == ["mcp", "web_search"]
    assert offered[0]["allowed_tools"] == ["search"]
    assert decisions == verdicts
