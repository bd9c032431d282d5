"""The runner's records and run state, field by field: start, tool outcomes, denials, failures."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit.decision import AllowAll, Decision, History, Principal, ProposedCall
from agentkit.errors import MaxTurnsExceeded, TooManyToolErrors
from agentkit.pipeline import runner as runner_module
from agentkit.pipeline.authorise import RecentCalls
from agentkit.pipeline.label import UNTRUSTED_NOTICE
from agentkit.pipeline.run_config import RunConfig
from agentkit.pipeline.runner import Runner
from agentkit.state import RunResult
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.clock import FakeClock
from agentkit.testing.scripted_client import scripted_client
from agentkit.tool import Tool, ToolOutput

MODEL = "grok-4"
T0 = 1_700_000_000.0


class Captured:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def record(self, event: str, fields: Mapping[str, Any]) -> None:
        self.records.append((event, dict(fields)))

    def of(self, event: str) -> list[dict[str, Any]]:
        return [fields for name, fields in self.records if name == event]


async def lookup(n: int) -> str:
    """Look up a row."""
    return f"row {n}"


async def fetch(url: str) -> ToolOutput:
    """Fetch a page."""
    return ToolOutput(
        f"page at {url}",
        citations=("https://a.example/1", "https://a.example/2", "https://a.example/1"),
        metadata={"cache": "hit"},
    )


async def clipped() -> ToolOutput:
    """Return output the tool itself cut short."""
    return ToolOutput("first rows", truncated=True)


async def long_text() -> str:
    """Return a long text."""
    return "x" * 40


async def explode() -> str:
    """Fail."""
    raise RuntimeError("boom")


async def stall() -> str:
    """Never finish in time."""
    await asyncio.sleep(5)
    return "late"


TOOLS = [
    Tool(lookup),
    Tool(fetch, untrusted_output=True),
    Tool(clipped),
    Tool(long_text),
    Tool(explode),
    Tool(stall, timeout=0.01),
]


class Recording:
    """Allows every call and keeps what each decision was asked."""

    def __init__(self, decision: Decision | None = None) -> None:
        self.decision = decision or Decision(action="allow", reason="fine", rule="tools.any")
        self.seen: list[tuple[str, str, dict[str, tuple[float, ...]], tuple[str, ...]]] = []

    def decide(self, principal: Principal, call: ProposedCall, history: History) -> Decision:
        self.seen.append(
            (call.call_id, call.tool.name, history.principal_recent_calls, history.user_messages)
        )
        return self.decision


def make(
    turns: Iterable[Turn],
    *,
    authoriser: Any = None,
    config: RunConfig | None = None,
    output_type: type[BaseModel] | None = None,
    **options: Any,
) -> tuple[Runner, FakeXAI, Captured]:
    fake = FakeXAI(Script(turns))
    audit = Captured()
    runner = Runner(
        rate_window=RecentCalls(),  # a window of its own: the process-wide one is shared
        client=scripted_client(fake),
        model=MODEL,
        tools=TOOLS,
        authoriser=authoriser or AllowAll(),
        audit=audit,
        config=config,
        output_type=output_type,
        clock=FakeClock(T0),
        **options,
    )
    return runner, fake, audit


async def start(runner: Runner, prompt: str = "hi there") -> RunResult:
    return await runner.start(prompt, principal=Principal(user_id="ana"), run_id="run-1")


def context(result: RunResult, turn: int, **fields: Any) -> dict[str, Any]:
    record = {**fields, "run_id": "run-1", "turn": turn, "principal": "ana"}
    if turn:
        record["request_id"] = result.usage[turn - 1]["request_id"]
    return record


async def test_a_run_without_calls_records_its_start_model_turn_and_end_exactly() -> None:
    runner, fake, audit = make([Turn.text("hello")], instructions="Be brief.")
    result = await start(runner)
    usage = result.usage[0]
    assert audit.records == [
        ("run.started", context(result, 0, agent="agent", model=MODEL, policy="AllowAll")),
        ("model.request", context(result, 0, model=MODEL, items=1)),
        (
            "model.response",
            context(
                result,
                1,
                response_id=result.previous_response_id,
                status="completed",
                calls=0,
                usage=usage,
            ),
        ),
        ("run.ended", context(result, 1, cost_usd=usage["cost_usd"], status="completed")),
    ]
    assert result.previous_response_id
    assert (result.agent, result.status, result.output) == ("agent", "completed", "hello")
    assert (result.started_at, result.ended_at) == (T0, T0)
    assert result.user_messages == ["hi there"]
    sent = fake.requests[0].json
    assert sent["input"] == [{"role": "user", "content": "hi there"}]
    assert sent["instructions"] == "Be brief."


async def test_the_policy_sees_the_prompt_as_the_principals_words() -> None:
    authoriser = Recording()
    runner, _, _ = make([Turn.call("lookup", {"n": 1}), Turn.text("done")], authoriser=authoriser)
    await start(runner, "look up row 1")
    assert [seen[3] for seen in authoriser.seen] == [("look up row 1",)]


async def test_the_policy_is_asked_with_the_call_id_and_sees_the_principals_recent_calls() -> None:
    authoriser = Recording()
    runner, _, _ = make(
        [Turn.call("lookup", {"n": 1}), Turn.call("lookup", {"n": 2}), Turn.text("done")],
        authoriser=authoriser,
    )
    result = await start(runner)
    assert [(c, t, recent) for c, t, recent, _ in authoriser.seen] == [
        (result.steps[0].call_id, "lookup", {}),
        (result.steps[1].call_id, "lookup", {"lookup": (T0,), "class:read": (T0,)}),
    ]


async def test_a_tool_with_metadata_citations_and_untrusted_output_is_recorded_as_such() -> None:
    runner, fake, audit = make(
        [
            Turn.calls([("fetch", {"url": "https://a.example"}), ("lookup", {"n": 3})]),
            Turn.text("ok"),
        ]
    )
    result = await start(runner)
    fetched, looked_up = audit.of("call.executed")
    framed = (
        '<untrusted-data source="fetch">\npage at https://a.example\n</untrusted-data>\n'
        + UNTRUSTED_NOTICE
    )
    assert fetched["output"] == framed
    assert (fetched["tool"], fetched["untrusted"], fetched["truncated"]) == ("fetch", True, False)
    assert fetched["metadata"] == {"cache": "hit"}
    assert "error_type" not in fetched
    assert looked_up["tool"] == "lookup"
    assert "metadata" not in looked_up
    step = result.steps[0]
    assert (step.untrusted, step.output, step.metadata) == (True, framed, {"cache": "hit"})
    assert step.citations == ["https://a.example/1", "https://a.example/2", "https://a.example/1"]
    assert result.citations == ["https://a.example/1", "https://a.example/2"]
    assert [(s.status, s.error, s.error_type) for s in result.steps] == [("ok", None, None)] * 2
    assert result.tool_errors == 0
    assert [s.started_at for s in result.steps] == [T0, T0]
    outputs = [i for i in fake.requests[1].json["input"] if i.get("type") == "function_call_output"]
    assert [i["output"] for i in outputs] == [framed, "row 3"]


async def test_output_cut_by_the_tool_or_by_the_cap_is_recorded_as_truncated() -> None:
    runner, _, audit = make(
        [Turn.calls([("clipped", {}), ("long_text", {}), ("lookup", {"n": 1})]), Turn.text("ok")],
        config=RunConfig(output_cap=10),
    )
    result = await start(runner)
    assert [(f["tool"], f["truncated"]) for f in audit.of("call.executed")] == [
        ("clipped", True),
        ("long_text", True),
        ("lookup", False),
    ]
    assert result.steps[0].output == "first rows"
    assert result.steps[1].output == "x" * 10 + "\n[truncated: 30 more characters not shown]"
    assert [s.truncated for s in result.steps] == [True, True, False]


async def test_the_duration_of_a_call_is_its_wall_time_in_milliseconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticks = iter([10.0, 10.25])
    monkeypatch.setattr(runner_module, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    runner, _, audit = make([Turn.call("lookup", {"n": 1}), Turn.text("ok")])
    result = await start(runner)
    assert result.steps[0].duration_ms == 250.0
    assert audit.of("call.executed")[0]["duration_ms"] == 250.0


async def test_a_failed_and_a_timed_out_call_are_recorded_with_their_error() -> None:
    runner, _, audit = make([Turn.calls([("explode", {}), ("stall", {})]), Turn.text("ok")])
    result = await start(runner)
    failed, timed_out = result.steps
    failure = "explode failed: RuntimeError: boom"
    timeout = "stall did not finish within 0.01 s and was abandoned"
    assert (failed.status, failed.error, failed.error_type, failed.output) == (
        "failed",
        failure,
        "RuntimeError",
        failure,
    )
    assert (timed_out.status, timed_out.error, timed_out.error_type, timed_out.output) == (
        "timed_out",
        timeout,
        "ToolTimeout",
        timeout,
    )
    assert audit.of("call.failed") == [
        context(
            result,
            1,
            duration_ms=round(failed.duration_ms, 3),
            untrusted=False,
            truncated=False,
            output=failure,
            error_type="RuntimeError",
            call_id=failed.call_id,
            tool="explode",
        )
    ]
    assert audit.of("call.timed_out") == [
        context(
            result,
            1,
            duration_ms=round(timed_out.duration_ms, 3),
            untrusted=False,
            truncated=False,
            output=timeout,
            error_type="ToolTimeout",
            call_id=timed_out.call_id,
            tool="stall",
        )
    ]
    assert result.tool_errors == 2


async def test_a_denied_call_tells_the_model_the_rule_and_reason() -> None:
    deny = Decision(action="deny", reason="rows are private", rule="tools.lookup")
    runner, fake, _ = make(
        [Turn.call("lookup", {"n": 1}), Turn.text("ok")], authoriser=Recording(deny)
    )
    result = await start(runner)
    message = "Denied by policy (tools.lookup): rows are private"
    assert (result.steps[0].status, result.steps[0].output) == ("denied", message)
    outputs = [i for i in fake.requests[1].json["input"] if i.get("type") == "function_call_output"]
    assert [i["output"] for i in outputs] == [message]


async def test_a_call_breaking_the_schema_keeps_the_arguments_it_sent() -> None:
    runner, _, _ = make([Turn.call("lookup", {"n": "one"}), Turn.text("ok")])
    result = await start(runner)
    step = result.steps[0]
    assert (step.status, step.arguments) == ("invalid", {"n": "one"})


async def test_arguments_that_are_not_json_are_refused_naming_the_tool() -> None:
    runner, _, audit = make([Turn.call("lookup", "{not json"), Turn.text("ok")])
    result = await start(runner)
    (invalid,) = audit.of("call.invalid")
    assert invalid["error"].startswith("arguments for lookup are not valid JSON: ")
    assert result.steps[0].output == f"Error: {invalid['error']}. Correct the call and try again."


async def test_a_server_side_search_is_recorded_as_a_call_of_its_tool() -> None:
    search = Turn.search(
        query="q", results=[{"url": "https://a.example/x", "title": "t"}], text="ok"
    )
    runner, _, audit = make([search])
    result = await start(runner)
    (step,) = result.steps
    assert audit.of("call.executed") == [
        context(result, 1, server_side=True, call_id=step.call_id, tool="web_search")
    ]


class Answer(BaseModel):
    answer: str


async def test_an_answer_corrected_once_counts_one_correction() -> None:
    runner, _, _ = make([Turn.text("not json"), Turn.text('{"answer": "42"}')], output_type=Answer)
    result = await start(runner)
    assert (result.status, result.corrections, result.structured) == (
        "completed",
        1,
        {"answer": "42"},
    )


async def test_a_call_past_the_tool_error_limit_is_recorded_then_fails_the_run() -> None:
    runner, _, audit = make(
        [Turn.call("explode", {}), Turn.text("ok")], config=RunConfig(max_tool_errors=0)
    )
    with pytest.raises(TooManyToolErrors) as caught:
        await start(runner)
    message = "run run-1: 1 invalid or failed tool calls"
    assert str(caught.value) == message
    result = caught.value.run
    assert isinstance(result, RunResult)
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error.type, result.error.message) == ("TooManyToolErrors", message)
    assert result.ended_at == T0
    step = result.steps[0]
    assert (step.status, step.error_type) == ("failed", "RuntimeError")
    assert [event for event, _ in audit.records[-2:]] == ["call.failed", "run.ended"]
    assert audit.records[-2][1]["call_id"] == step.call_id
    assert audit.records[-1] == (
        "run.ended",
        context(result, 1, error="TooManyToolErrors", status="failed"),
    )


async def test_a_run_past_its_turn_limit_fails_naming_the_run() -> None:
    runner, _, audit = make(
        [Turn.call("lookup", {"n": 1}), Turn.text("ok")], config=RunConfig(max_turns=1)
    )
    with pytest.raises(MaxTurnsExceeded, match=r"^run run-1 reached 1 model turns$") as caught:
        await start(runner)
    assert caught.value.run is not None
    assert audit.records[-1][1]["error"] == "MaxTurnsExceeded"
