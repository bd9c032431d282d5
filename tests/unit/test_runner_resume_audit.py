"""Approvals in the audit trail: a paused run resumed, inline answers, and resumes that fail."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from agentkit.approvers import CallbackApprover
from agentkit.decision import AllowAll, Decision, History, Principal, ProposedCall
from agentkit.errors import RunStateError, TooManyToolErrors
from agentkit.model.types import ModelRequest, ModelResponse
from agentkit.pipeline.authorise import RecentCalls
from agentkit.pipeline.confirm import Approver
from agentkit.pipeline.run_config import RunConfig
from agentkit.pipeline.runner import DECLINED_MESSAGE, Runner
from agentkit.state import RunResult
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.clock import FakeClock
from agentkit.testing.scripted_client import scripted_client
from agentkit.tool import Tool

MODEL = "grok-4"
T0 = 1_700_000_000.0


class Captured:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def record(self, event: str, fields: Mapping[str, Any]) -> None:
        self.records.append((event, dict(fields)))

    def since(self, index: int) -> list[tuple[str, dict[str, Any]]]:
        return self.records[index:]


class Ledger:
    """Remembers every approval id it was asked to spend, in order."""

    durable = True

    def __init__(self) -> None:
        self.asked: list[str] = []

    def consume(self, approval_id: str) -> bool:
        fresh = approval_id not in self.asked
        self.asked.append(approval_id)
        return fresh


class Recording:
    """Allows every call (the destructive floor still applies) and keeps the recent calls seen."""

    def __init__(self) -> None:
        self.recent: list[dict[str, tuple[float, ...]]] = []

    def decide(self, principal: Principal, call: ProposedCall, history: History) -> Decision:
        self.recent.append(history.principal_recent_calls)
        return Decision(action="allow", reason="fine", rule="tools.any")


async def close(n: int) -> str:
    """Close a ticket."""
    return f"closed {n}"


async def broken(n: int) -> str:
    """Close a ticket, badly."""
    raise RuntimeError("jammed")


async def lookup(n: int) -> str:
    """Look up a ticket."""
    return f"row {n}"


TOOLS = [
    Tool(close, side_effect="destructive"),
    Tool(broken, side_effect="destructive"),
    Tool(lookup),
]


def make(
    turns: Iterable[Turn],
    *,
    approver: Approver | None = None,
    config: RunConfig | None = None,
    authoriser: Any = None,
    client: Any = None,
) -> tuple[Runner, Captured, Ledger]:
    audit, ledger = Captured(), Ledger()
    runner = Runner(
        rate_window=RecentCalls(),  # a window of its own: the process-wide one is shared
        client=client or scripted_client(FakeXAI(Script(turns))),
        model=MODEL,
        tools=TOOLS,
        authoriser=authoriser or AllowAll(),
        audit=audit,
        approver=approver,
        ledger=ledger,
        config=config,
        clock=FakeClock(T0),
    )
    return runner, audit, ledger


async def start(runner: Runner) -> RunResult:
    return await runner.start("close two", principal=Principal(user_id="ana"), run_id="run-1")


def context(result: RunResult, turn: int, **fields: Any) -> dict[str, Any]:
    record = {**fields, "run_id": "run-1", "turn": turn, "principal": "ana"}
    if turn:
        record["request_id"] = result.usage[turn - 1]["request_id"]
    return record


TWO_CLOSES = Turn.calls([("close", {"n": 1}), ("close", {"n": 2})])


async def test_a_paused_run_records_its_pending_approvals_and_the_resume_records_each_answer() -> (
    None
):
    runner, audit, ledger = make([TWO_CLOSES, Turn.text("one closed")])
    run = await start(runner)
    assert run.status == "awaiting_approval"
    first, second = (p.approval_id for p in run.pending)
    assert audit.records[-1] == ("run.paused", context(run, 1, pending=[first, second]))
    paused_at = len(audit.records)

    result = await runner.resume(run, {first: True, second: False})

    one, two = result.steps
    assert ledger.asked == [first, second]
    assert result.consumed_approvals == [first, second]
    assert (one.status, one.approver, one.output) == ("ok", "unknown", "closed 1")
    assert (two.status, two.approver, two.output) == ("declined", "unknown", DECLINED_MESSAGE)
    events = [event for event, _ in audit.since(paused_at)]
    assert events == [
        "approval.decided",
        "approval.decided",
        "run.resumed",
        "call.executed",
        "model.request",
        "model.response",
        "run.ended",
    ]
    decided = [fields for _, fields in audit.since(paused_at)[:3]]
    assert decided == [
        context(
            run,
            1,
            approval_id=first,
            approved=True,
            approver="unknown",
            call_id=one.call_id,
            tool="close",
        ),
        context(
            run,
            1,
            approval_id=second,
            approved=False,
            approver="unknown",
            call_id=two.call_id,
            tool="close",
        ),
        context(run, 1),
    ]
    executed = audit.since(paused_at)[3][1]
    assert (executed["call_id"], executed["output"]) == (one.call_id, "closed 1")
    assert result.status == "completed"


async def test_the_resume_names_the_approver_it_is_given() -> None:
    runner, audit, _ = make([Turn.call("close", {"n": 1}), Turn.text("done")])
    run = await start(runner)
    (pending,) = run.pending
    result = await runner.resume(run, {pending.approval_id: True}, approver_name="lee")
    assert result.steps[0].approver == "lee"
    assert [f["approver"] for e, f in audit.records if e == "approval.decided"] == ["lee"]


async def test_resuming_a_run_that_is_not_paused_is_refused_with_its_status() -> None:
    runner, _, _ = make([Turn.text("done")])
    run = await start(runner)
    with pytest.raises(RunStateError) as caught:
        await runner.resume(run, {})
    assert str(caught.value) == "run run-1 is completed, not awaiting approval"


class Interrupted:
    """Answers from a script until `after` requests, then raises an error that is not agentkit's."""

    def __init__(self, turns: Iterable[Turn], after: int) -> None:
        self._inner = scripted_client(FakeXAI(Script(turns)))
        self._left = after

    async def respond(self, request: ModelRequest) -> ModelResponse:
        if self._left == 0:
            raise RuntimeError("connection torn down")
        self._left -= 1
        return await self._inner.respond(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_resumed_run_interrupted_by_a_foreign_error_is_left_running_not_paused() -> None:
    client = Interrupted([Turn.call("close", {"n": 1}), Turn.text("done")], after=1)
    runner, _, _ = make([], client=client)
    run = await start(runner)
    (pending,) = run.pending
    with pytest.raises(RuntimeError, match="connection torn down"):
        await runner.resume(run, {pending.approval_id: True})
    assert run.status == "running"
    assert run.steps[0].status == "ok"
    with pytest.raises(RunStateError, match=r"^run run-1 is running, not awaiting approval$"):
        await runner.resume(run, {pending.approval_id: True})


async def test_a_resumed_call_past_the_tool_error_limit_fails_the_run_on_the_record() -> None:
    runner, audit, _ = make(
        [Turn.call("broken", {"n": 1}), Turn.text("done")], config=RunConfig(max_tool_errors=0)
    )
    run = await start(runner)
    (pending,) = run.pending
    with pytest.raises(TooManyToolErrors) as caught:
        await runner.resume(run, {pending.approval_id: True})
    assert caught.value.run is run
    assert run.status == "failed"
    assert run.error is not None
    assert (run.error.type, run.error.message) == (
        "TooManyToolErrors",
        "run run-1: 1 invalid or failed tool calls",
    )
    assert run.ended_at == T0
    assert run.steps[0].status == "failed"
    assert [e for e, _ in audit.records[-3:]] == ["run.resumed", "call.failed", "run.ended"]
    assert audit.records[-1] == (
        "run.ended",
        context(run, 1, error="TooManyToolErrors", status="failed"),
    )


async def test_an_inline_approval_spends_its_id_and_counts_as_a_recent_call() -> None:
    authoriser = Recording()
    approver = CallbackApprover(lambda request: True, name="ana-bot")
    runner, audit, ledger = make(
        [Turn.call("close", {"n": 1}), Turn.call("lookup", {"n": 1}), Turn.text("done")],
        approver=approver,
        authoriser=authoriser,
    )
    result = await start(runner)
    (approval_id,) = result.consumed_approvals
    assert ledger.asked == [approval_id]
    assert authoriser.recent == [{}, {"close": (T0,), "class:destructive": (T0,)}]
    assert result.steps[0].output == "closed 1"
    decided = [f for e, f in audit.records if e == "approval.decided"]
    assert decided == [
        context(
            result,
            1,
            approval_id=approval_id,
            approved=True,
            approver="ana-bot",
            note="",
            call_id=result.steps[0].call_id,
            tool="close",
        )
    ]


async def test_an_inline_refusal_tells_the_model_a_person_declined() -> None:
    authoriser = Recording()
    approver = CallbackApprover(lambda request: False, name="ana-bot")
    runner, _, ledger = make(
        [Turn.call("close", {"n": 1}), Turn.call("lookup", {"n": 1}), Turn.text("done")],
        approver=approver,
        authoriser=authoriser,
    )
    result = await start(runner)
    step = result.steps[0]
    assert (step.status, step.output, step.approver) == ("declined", DECLINED_MESSAGE, "ana-bot")
    assert ledger.asked == result.consumed_approvals
    assert authoriser.recent == [{}, {}]
