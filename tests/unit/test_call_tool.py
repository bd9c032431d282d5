"""`Agent.call_tool`: a client's own call as a run of that one call, exactly on the record,
ended or paused and resumed without a model, failing and cancelled runs ended too."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentkit import (
    Agent,
    ApprovalDecision,
    Principal,
    RunConfig,
    Tool,
    TooManyToolErrors,
)
from agentkit.audit.testing import CapturedAudit
from agentkit.cli.mcp_command import NoModel
from agentkit.policy import Policy
from agentkit.sealing import Sealer

POLICY = """
version: 1
tools:
  srv.look: {action: allow}
  close: {action: confirm}
  boom: {action: allow}
  hang: {action: allow}
"""
ANA = Principal(user_id="ana")
started = asyncio.Event()  # the hanging tool began


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


def _agent(ran: list[str], **options: Any) -> tuple[Agent, CapturedAudit]:
    def look(ticket: int) -> str:
        ran.append("look")
        return f"ticket {ticket}"

    def close(ticket: int) -> str:
        ran.append("close")
        return f"closed {ticket}"

    def boom() -> str:
        ran.append("boom")
        raise RuntimeError("broke")

    async def hang() -> str:
        ran.append("hang")
        started.set()
        await asyncio.sleep(60)
        return "never"

    tools = [Tool(look, name="srv.look", side_effect="read"),
             Tool(close, side_effect="destructive"), Tool(boom, side_effect="read"),
             Tool(hang, side_effect="read")]  # fmt: skip
    audit = CapturedAudit()
    agent = Agent(client=NoModel(), policy=Policy.from_yaml(POLICY), tools=tools, audit=audit,
                  sealer=Sealer(bytes(32)), principal=ANA, **options)  # fmt: skip
    return agent, audit


def test_an_allowed_call_is_a_run_that_ends_with_its_output_on_the_record() -> None:
    ran: list[str] = []
    agent, audit = _agent(ran)
    clock = Clock()
    agent.runner._clock = clock
    run = asyncio.run(agent.call_tool("srv.look", {"ticket": 3}, called_by="mcp"))
    assert ran == ["look"]
    assert (run.status, run.output, run.model, run.called_by) == (
        "completed",
        "ticket 3",
        "none",
        "mcp",
    )
    assert run.principal == ANA
    assert run.started_at == 501.0
    assert run.ended_at is not None
    assert run.ended_at > run.started_at
    [step] = run.steps
    assert (step.tool, step.status, step.arguments) == ("srv.look", "ok", {"ticket": 3})
    assert run.open_calls == []
    assert run.conversation == [
        {"type": "function_call_output", "call_id": step.call_id, "output": "ticket 3"}
    ]
    assert audit.events == [
        "run.started",
        "call.requested",
        "call.validated",
        "call.decided",
        "call.executed",
        "run.ended",
    ]
    started = audit.fields_of("run.started")[0]
    assert {k: started[k] for k in ("agent", "model", "called_by", "policy")} == {
        "agent": "Agent",
        "model": "none",
        "called_by": "mcp",
        "policy": "<string>",  # a policy read from text, not a file
    }
    assert "earlier_calls" not in started
    ended = audit.fields_of("run.ended")[0]
    assert (ended["status"], ended["cost_usd"]) == ("completed", 0.0)
    assert audit.verify().ok


def test_earlier_steps_lead_the_run_and_are_counted_on_the_record() -> None:
    ran: list[str] = []
    agent, audit = _agent(ran)
    first = asyncio.run(agent.call_tool("srv.look", {"ticket": 1}, called_by="mcp"))
    second = asyncio.run(
        agent.call_tool("srv.look", {"ticket": 2}, called_by="mcp", earlier=first.steps)
    )
    assert second.steps[0] is first.steps[0]
    assert [s.arguments for s in second.steps] == [{"ticket": 1}, {"ticket": 2}]
    assert second.output == "ticket 2"
    assert [f.get("earlier_calls") for f in audit.fields_of("run.started")] == [None, 1]
    assert len({second.steps[0].call_id, second.steps[1].call_id}) == 2


def test_a_confirmed_call_pauses_and_runs_once_when_resumed_without_a_model() -> None:
    ran: list[str] = []
    agent, audit = _agent(ran)
    paused = asyncio.run(agent.call_tool("close", {"ticket": 4}, called_by="mcp"))
    assert (paused.status, ran, paused.output) == ("awaiting_approval", [], None)
    assert paused.seal is not None
    [pending] = paused.pending
    assert audit.events[-1] == "run.paused"
    decision = ApprovalDecision.approve(pending, approver="lee")
    done = asyncio.run(agent.resume(paused, [decision]))
    assert (done.status, done.output, ran) == ("completed", "closed 4", ["close"])
    assert done.ended_at is not None
    assert audit.events[-1] == "run.ended"
    assert "model.request" not in audit.events


def test_a_failed_tool_ends_the_run_completed_with_the_failure_in_its_step() -> None:
    ran: list[str] = []
    agent, _ = _agent(ran)
    run = asyncio.run(agent.call_tool("boom", {}, called_by="mcp"))
    assert (run.status, run.steps[0].status, run.tool_errors) == ("completed", "failed", 1)
    assert run.output == run.steps[0].output


def test_a_run_past_its_error_limit_fails_with_its_state_on_the_error() -> None:
    ran: list[str] = []
    agent, audit = _agent(ran, config=RunConfig(max_tool_errors=0))
    with pytest.raises(TooManyToolErrors) as caught:
        asyncio.run(agent.call_tool("boom", {}, called_by="mcp"))
    assert caught.value.run is not None
    assert caught.value.run.status == "failed"
    assert audit.fields_of("run.ended")[-1]["status"] == "failed"


def test_a_cancelled_call_ends_its_run_on_the_record() -> None:
    ran: list[str] = []
    agent, audit = _agent(ran)

    async def cancel_it() -> None:
        task = asyncio.create_task(agent.call_tool("hang", {}, called_by="mcp"))
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_it())
    assert audit.fields_of("run.ended")[-1]["status"] == "cancelled"


def test_a_clients_run_is_traced_as_a_call_entry_with_its_tool_span_beneath() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentkit.telemetry import TelemetrySettings

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    agent, _ = _agent([], telemetry=TelemetrySettings(tracer_provider=provider))
    run = asyncio.run(agent.call_tool("srv.look", {"ticket": 5}, called_by="mcp"))
    spans = {span.name.split(" ")[0]: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"invoke_agent", "execute_tool"}
    root, executed = spans["invoke_agent"], spans["execute_tool"]
    assert root.attributes is not None
    assert root.attributes["agentkit.run.entry"] == "call"
    assert root.attributes["agentkit.run.id"] == run.run_id
    assert executed.parent is not None
    assert executed.parent.span_id == root.context.span_id


def test_the_raw_arguments_keep_the_clients_text_as_it_was() -> None:
    ran: list[str] = []
    agent, _ = _agent(ran)
    run = asyncio.run(agent.call_tool("close", {"ticket": 1, "note": "café ✓"}, called_by="mcp"))
    assert run.steps[0].raw_arguments == '{"ticket": 1, "note": "café ✓"}'
    assert run.steps[0].status == "invalid"  # close takes no note
    assert ran == []
