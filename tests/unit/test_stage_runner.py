"""The runner's own steps: closing a turn in the model's order, and resuming only what was shown."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from agentkit import Agent, ApprovalDecision, RunResult, tool
from agentkit.decision import AllowAll, Principal
from agentkit.errors import RunStateTampered, StaleRunState
from agentkit.model import XAIClient
from agentkit.pipeline.runner import Runner
from agentkit.state import Step
from agentkit.testing import FakeXAI, Script, Turn


class Desk(Agent):
    def __init__(self, **kwargs: Any) -> None:
        self.ran: list[tuple[str, Any]] = []
        self.finished: list[str] = []
        super().__init__(**kwargs)

    @tool
    async def wait(self, seconds: float, tag: str) -> str:
        """Wait, then say which call finished."""
        await asyncio.sleep(seconds)
        self.finished.append(tag)
        return f"done {tag}"

    @tool(destructive=True)
    async def close_ticket(self, ticket_id: int) -> str:
        """Close a ticket."""
        self.ran.append(("close_ticket", ticket_id))
        return f"closed {ticket_id}"


def make(script: list[Turn]) -> tuple[Desk, FakeXAI]:
    fake = FakeXAI(Script(script))
    client = XAIClient(api_key="test-key-123456", transport=fake.transport())
    return Desk(client=client), fake


def outputs_sent(fake: FakeXAI, request: int) -> list[tuple[str, str]]:
    items = fake.requests[request].json["input"]
    return [(i["call_id"], i["output"]) for i in items if i.get("type") == "function_call_output"]


def calls_sent(fake: FakeXAI, request: int) -> list[str]:
    items = fake.requests[request].json["input"]
    return [i["call_id"] for i in items if i.get("type") == "function_call"]


async def test_outputs_go_back_in_the_order_the_model_asked_not_the_order_calls_finished() -> None:
    agent, fake = make(
        [
            Turn.calls(
                [
                    ("wait", {"seconds": 0.2, "tag": "first"}),
                    ("wait", {"seconds": 0.1, "tag": "second"}),
                    ("wait", {"seconds": 0.0, "tag": "third"}),
                ]
            ),
            Turn.text("ok"),
        ]
    )
    result = await agent.run("wait three times")
    assert agent.finished == ["third", "second", "first"]
    asked = calls_sent(fake, 1)
    assert asked == [s.call_id for s in result.steps]
    assert outputs_sent(fake, 1) == [
        (asked[0], "done first"),
        (asked[1], "done second"),
        (asked[2], "done third"),
    ]
    assert result.open_calls == []


def test_close_turn_follows_the_open_calls_and_clears_them() -> None:
    runner = Runner(client=None, model="m", tools=[], authoriser=AllowAll())  # type: ignore[arg-type]
    run = RunResult(run_id="r", agent="a", model="m", principal=Principal())
    for call_id, output in (("c1", "one"), ("c2", None), ("c3", "three")):
        run.steps.append(Step(call_id=call_id, tool="t", turn=1, raw_arguments="{}"))
        run.steps[-1].output = output
    run.open_calls = ["c3", "c1", "c2"]
    runner._close_turn(run)
    assert run.conversation == [
        {"type": "function_call_output", "call_id": "c3", "output": "three"},
        {"type": "function_call_output", "call_id": "c1", "output": "one"},
        {"type": "function_call_output", "call_id": "c2", "output": ""},
    ]
    assert run.open_calls == []
    runner._close_turn(run)
    assert len(run.conversation) == 3


async def paused_close() -> tuple[Desk, RunResult]:
    agent, _ = make([Turn.call("close_ticket", {"ticket_id": 7}), Turn.text("ok")])
    paused = await agent.run("close 7")
    assert paused.status == "awaiting_approval"
    return agent, paused


async def test_resume_refuses_pending_arguments_changed_after_they_were_shown() -> None:
    agent, paused = await paused_close()
    [pending] = paused.pending
    decision = ApprovalDecision.approve(pending, approver="ana")
    state = json.loads(paused.to_json())
    state["pending"][0]["arguments"] = {"ticket_id": 8}
    tampered = RunResult.from_json(json.dumps(state))
    with pytest.raises(RunStateTampered, match="does not carry the seal"):
        await agent.resume(tampered, [decision])
    assert agent.ran == []
    assert tampered.status == "awaiting_approval"


async def test_the_ledger_refuses_an_approval_spent_from_another_copy_of_the_run() -> None:
    agent, paused = await paused_close()
    stored = paused.to_json()
    decision = ApprovalDecision.approve(paused.pending[0], approver="ana")
    done = await agent.resume(RunResult.from_json(stored), [decision])
    assert done.status == "completed"
    assert done.consumed_approvals == [decision.approval_id]
    copy = RunResult.from_json(stored)
    spent = r"(already used|records as used \(record \d+\)): this state is older"
    with pytest.raises(StaleRunState, match=spent):
        await agent.resume(copy, [decision])  # the ledger saw it used: the copy is stale
    assert agent.ran == [("close_ticket", 7)]
    assert copy.pending
    assert copy.status == "awaiting_approval"


async def test_resume_runs_the_approved_call_with_the_approved_arguments() -> None:
    agent, paused = await paused_close()
    decision = ApprovalDecision.approve(paused.pending[0], approver="ana")
    done = await agent.resume(paused, [decision])
    step = done.steps[0]
    assert (step.status, step.output, step.approver) == ("ok", "closed 7", "ana")
    assert agent.ran == [("close_ticket", 7)]
    assert done.pending == []
