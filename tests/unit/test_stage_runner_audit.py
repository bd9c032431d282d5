"""The runner's audit trail of one run: every stage transition, in order, with its fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentkit import Agent, tool
from agentkit.approvers import CallbackApprover
from agentkit.decision import AllowAll, Principal
from agentkit.model import XAIClient
from agentkit.state import RunResult
from agentkit.testing import FakeXAI, Script, Turn


class Captured:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def record(self, event: str, fields: Mapping[str, Any]) -> None:
        self.records.append((event, dict(fields)))


class Desk(Agent):
    @tool
    async def lookup(self, n: int) -> str:
        """Look up."""
        return f"row {n}"

    @tool(destructive=True)
    async def close(self, n: int) -> str:
        """Close."""
        return f"closed {n}"

    @tool
    async def explode(self) -> str:
        """Fail."""
        raise RuntimeError("boom")


async def run_audited() -> tuple[RunResult, list[tuple[str, dict[str, Any]]]]:
    turns = [
        Turn.calls([("lookup", {"n": 1}), ("close", {"n": 2}), ("explode", {}), ("nope", {})]),
        Turn.text("done"),
    ]
    fake = FakeXAI(Script(turns))
    audit = Captured()
    agent = Desk(
        client=XAIClient(api_key="test-key-123456", transport=fake.transport()),
        audit=audit,
        approver=CallbackApprover(lambda request: True, name="ana-bot"),
        policy=AllowAll(),
    )
    result = await agent.run("go", principal=Principal(user_id="ana"))
    return result, audit.records


VOLATILE = {"run_id", "request_id", "response_id", "usage", "duration_ms", "call_id", "principal"}


def shape(records: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [(e, {k: v for k, v in f.items() if k not in VOLATILE}) for e, f in records]


async def test_every_transition_of_a_run_is_recorded_in_order_with_its_fields() -> None:
    result, records = await run_audited()
    approval_id = result.consumed_approvals[0]
    lookup, close, explode, nope = (("tool", t) for t in ("lookup", "close", "explode", "nope"))
    allow = {"action": "allow", "rule": "no-policy", "reason": "no policy configured"}
    destructive = "close is destructive: a person must confirm it"
    ran = {"truncated": False, "untrusted": False, "turn": 1}
    assert shape(records) == [
        ("run.started", {"agent": "Desk", "model": result.model, "policy": "AllowAll", "turn": 0}),
        ("model.request", {"items": 1, "model": result.model, "turn": 0}),
        ("model.response", {"calls": 4, "status": "completed", "turn": 1}),
        ("call.requested", dict([lookup], turn=1)),
        ("call.validated", dict([lookup], arguments={"n": 1}, turn=1)),
        ("call.decided", dict([lookup], **allow, turn=1)),
        ("call.requested", dict([close], turn=1)),
        ("call.validated", dict([close], arguments={"n": 2}, turn=1)),
        (
            "call.decided",
            dict([close], action="confirm", rule="destructive", reason=destructive, turn=1),
        ),
        ("approval.requested", dict([close], approval_id=approval_id, reason=destructive, turn=1)),
        (
            "approval.decided",
            dict(
                [close], approval_id=approval_id, approved=True, approver="ana-bot", note="", turn=1
            ),
        ),
        ("call.requested", dict([explode], turn=1)),
        ("call.validated", dict([explode], arguments={}, turn=1)),
        ("call.decided", dict([explode], **allow, turn=1)),
        ("call.requested", dict([nope], turn=1)),
        ("call.invalid", dict([nope], error="there is no tool named 'nope'", turn=1)),
        ("call.executed", dict([lookup], output="row 1", **ran)),
        ("call.executed", dict([close], output="closed 2", **ran)),
        (
            "call.failed",
            dict(
                [explode],
                output="explode failed: RuntimeError: boom",
                error_type="RuntimeError",
                **ran,
            ),
        ),
        ("model.request", {"items": 9, "model": result.model, "turn": 1}),
        ("model.response", {"calls": 0, "status": "completed", "turn": 2}),
        ("run.ended", {"cost_usd": result.totals.cost_usd, "status": "completed", "turn": 2}),
    ]


async def test_each_record_names_its_run_principal_call_and_model_request() -> None:
    result, records = await run_audited()
    tools_by_call = {s.call_id: s.tool for s in result.steps}
    requests = [u["request_id"] for u in result.usage]
    for _event, fields in records:
        assert fields["run_id"] == result.run_id
        assert fields["principal"] == "ana"
        if "call_id" in fields:
            assert tools_by_call[fields["call_id"]] == fields["tool"]
    responded = [f for e, f in records if e == "model.response"]
    assert [f["request_id"] for f in responded] == requests
    assert [f["usage"] for f in responded] == result.usage
    assert records[-1][1]["request_id"] == requests[-1]
    executed = [f for e, f in records if e in ("call.executed", "call.failed")]
    assert all(f["duration_ms"] >= 0 for f in executed)
    assert [f["duration_ms"] for f in executed] == [
        round(result.step(f["call_id"]).duration_ms, 3) for f in executed
    ]
