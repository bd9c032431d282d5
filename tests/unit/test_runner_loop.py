"""The loop end to end against the fake xAI server (in-process transport, real wire format)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from agentkit import Agent, ApprovalDecision, Principal, RunConfig, RunResult, tool
from agentkit.errors import (
    ApprovalRefused,
    MaxTurnsExceeded,
    ModelBehaviorError,
    RunStateError,
    RunStateTampered,
    TooManyToolErrors,
)
from agentkit.testing import FakeXAI, RecordingApprover, Script, Turn, scripted_client


class Ledger:
    """Records what tool bodies actually ran."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, Any]] = []


class Desk(Agent):
    instructions = "Help with tickets."

    def __init__(self, ledger: Ledger, **kwargs: Any) -> None:
        self.ledger = ledger
        super().__init__(**kwargs)

    @tool
    async def lookup_ticket(self, ticket_id: int) -> dict[str, Any]:
        """Look up a ticket.

        Args:
            ticket_id: The ticket number.
        """
        self.ledger.ran.append(("lookup_ticket", ticket_id))
        return {"id": ticket_id, "title": "disk full"}

    @tool
    def slow(self, seconds: float) -> str:
        """Sleep (a sync tool, run in a thread)."""
        import time

        self.ledger.ran.append(("slow", seconds))
        time.sleep(seconds)
        return "woke"

    @tool
    async def explode(self) -> str:
        """Always fails."""
        raise RuntimeError("boom")

    @tool(destructive=True)
    async def close_ticket(self, ticket_id: int) -> str:
        """Close a ticket."""
        self.ledger.ran.append(("close_ticket", ticket_id))
        return f"closed {ticket_id}"


def make(script: list[Turn], **kwargs: Any) -> tuple[Desk, FakeXAI, Ledger]:
    fake = FakeXAI(Script(script))
    ledger = Ledger()
    return Desk(ledger, client=scripted_client(fake), **kwargs), fake, ledger


@pytest.fixture
def tight() -> RunConfig:
    return RunConfig(max_turns=3, max_tool_calls=4, max_tool_errors=1)


async def test_one_tool_call_then_an_answer() -> None:
    agent, fake, ledger = make(
        [Turn.call("lookup_ticket", {"ticket_id": 42}), Turn.text("42: disk")]
    )
    result = await agent.run("what is 42?")
    assert result.status == "completed"
    assert result.output == "42: disk"
    assert ledger.ran == [("lookup_ticket", 42)]
    assert [s.status for s in result.steps] == ["ok"]
    assert fake.count("/v1/responses") == 2
    second = fake.requests[1].json
    outputs = [i for i in second["input"] if i.get("type") == "function_call_output"]
    calls = [i for i in second["input"] if i.get("type") == "function_call"]
    assert outputs[0]["call_id"] == calls[0]["call_id"] == result.steps[0].call_id
    assert json.loads(outputs[0]["output"]) == {"id": 42, "title": "disk full"}
    assert second["parallel_tool_calls"] is True
    assert result.totals.requests == 2
    assert result.totals.input_tokens > 0


class Meeting(Agent):
    """Tools that each wait until every call of the turn is running: run one by one, they fail."""

    def __init__(self, parties: int, **kwargs: Any) -> None:
        self.in_loop = asyncio.Barrier(parties)
        self.in_threads = threading.Barrier(parties, timeout=5)
        super().__init__(**kwargs)

    @tool
    async def meet(self, name: str) -> str:
        """Wait on the event loop for the other calls."""
        await self.in_loop.wait()
        return f"{name} met"

    @tool
    def meet_in_thread(self, name: str) -> str:
        """Wait in a worker thread for the other calls (a sync tool)."""
        self.in_threads.wait()
        return f"{name} met"


@pytest.mark.parametrize("name", ["meet", "meet_in_thread"])
async def test_parallel_calls_run_concurrently(name: str) -> None:
    calls = [(name, {"name": n}) for n in ("a", "b", "c")]
    agent = Meeting(3, client=scripted_client([Turn.calls(calls), Turn.text("ok")]))
    result = await asyncio.wait_for(agent.run("meet"), timeout=5)
    assert [(s.status, s.output) for s in result.steps] == [
        ("ok", "a met"),
        ("ok", "b met"),
        ("ok", "c met"),
    ], "each call waited for the others: they all ran at once"


@pytest.mark.parametrize(
    ("arguments", "status", "message"),
    [
        ('{"ticket_id": ', "invalid", "not valid JSON"),
        ('{"ticket_id": "x"}', "invalid", "ticket_id"),
        ('{"ticket": 1}', "invalid", "ticket_id"),
        ("[1]", "invalid", "JSON object"),
    ],
)
async def test_bad_arguments_go_back_to_the_model(
    arguments: str, status: str, message: str
) -> None:
    agent, fake, ledger = make([Turn.call("lookup_ticket", arguments), Turn.text("sorry")])
    result = await agent.run("look")
    assert result.status == "completed"
    assert result.steps[0].status == status
    assert message in (result.steps[0].output or "")
    assert ledger.ran == []
    assert result.tool_errors == 1
    sent = [i for i in fake.requests[1].json["input"] if i.get("type") == "function_call_output"]
    assert message in sent[0]["output"]


async def test_unknown_tool_and_tool_exception_are_tool_errors() -> None:
    agent, _, _ = make([Turn.calls([("nope", {}), ("explode", {})]), Turn.text("ok")])
    result = await agent.run("go")
    assert [s.status for s in result.steps] == ["unknown_tool", "failed"]
    assert "boom" in (result.steps[1].output or "")


async def test_tool_timeout_is_reported_and_the_run_goes_on() -> None:
    agent, _, _ = make([Turn.call("slow", {"seconds": 0.5}), Turn.text("ok")])
    agent.tool_list[[t.name for t in agent.tool_list].index("slow")].timeout = 0.05
    result = await agent.run("go")
    assert result.steps[0].status == "timed_out"
    assert result.status == "completed"


async def test_errors_are_capped(tight: RunConfig) -> None:
    agent, _, _ = make(
        [Turn.call("explode", {}), Turn.call("explode", {}), Turn.text("never")], config=tight
    )
    with pytest.raises(TooManyToolErrors) as info:
        await agent.run("go")
    run: RunResult = info.value.run  # type: ignore[attr-defined]
    assert run.status == "failed"
    assert run.error is not None
    assert run.error.type == "TooManyToolErrors"


async def test_runaway_turns_end_with_a_typed_error(tight: RunConfig) -> None:
    agent, _, ledger = make(
        [Turn.call("lookup_ticket", {"ticket_id": i}) for i in range(10)], config=tight
    )
    with pytest.raises(MaxTurnsExceeded):
        await agent.run("loop forever")
    assert len(ledger.ran) == 3


async def test_calls_past_the_tool_call_limit_are_denied_and_the_ones_before_run(
    tight: RunConfig,
) -> None:
    calls = [("lookup_ticket", {"ticket_id": i}) for i in range(6)]
    agent, _, ledger = make([Turn.calls(calls), Turn.text("x")], config=tight)
    result = await agent.run("many")
    assert result.status == "completed"
    allowed = tight.max_tool_calls
    assert ledger.ran == [("lookup_ticket", i) for i in range(allowed)]
    for step in result.steps[allowed:]:
        assert step.status == "denied"
        assert step.decision is not None
        assert step.decision.rule == "run_limits.max_tool_calls"
    assert all(s.status == "ok" for s in result.steps[:allowed])


async def test_destructive_call_pauses_and_nothing_of_it_runs() -> None:
    agent, _, ledger = make(
        [
            Turn.calls([("lookup_ticket", {"ticket_id": 7}), ("close_ticket", {"ticket_id": 7})]),
            Turn.text("closed"),
        ]
    )
    paused = await agent.run("close 7", principal=Principal(user_id="ana", roles=("operator",)))
    assert paused.status == "awaiting_approval"
    assert ledger.ran == [("lookup_ticket", 7)], (
        "the allowed call of the turn ran; the other did not"
    )
    [pending] = paused.pending
    assert (pending.tool, pending.arguments) == ("close_ticket", {"ticket_id": 7})
    stored = paused.to_json()

    # a fresh agent (as in another process) resumes from the JSON alone
    agent2, _, _ = make([Turn.text("unused"), Turn.text("closed")])
    agent2.ledger = ledger
    done = await agent2.resume(stored, [ApprovalDecision.approve(pending, approver="lee")])
    assert done.status == "completed"
    assert ledger.ran[-1] == ("close_ticket", 7)
    assert (
        done.step(pending.call_id).approver == "lee"
    )  # not ana: nobody approves their own destructive call


async def test_replayed_and_swapped_approvals_are_refused() -> None:
    agent, _, ledger = make(
        [Turn.call("close_ticket", {"ticket_id": 7}), Turn.text("ok"), Turn.text("ok")]
    )
    paused = await agent.run("close 7")
    [pending] = paused.pending
    stored = paused.to_json()

    swapped = RunResult.from_json(stored)
    swapped.step(pending.call_id).arguments = {"ticket_id": 8}
    with pytest.raises(RunStateTampered, match="does not carry the seal"):
        await agent.resume(swapped, [ApprovalDecision.approve(pending, approver="x")])

    honest = ApprovalDecision.approve(pending, approver="x")
    forged = dataclasses.replace(honest, arguments_sha256="0" * 64)
    with pytest.raises(ApprovalRefused):
        await agent.resume(stored, [forged])

    await agent.resume(stored, {pending.approval_id: True})
    with pytest.raises(ApprovalRefused, match=r"already used|records as used"):
        await agent.resume(stored, {pending.approval_id: True})
    assert ledger.ran == [("close_ticket", 7)]


async def test_denied_approval_goes_back_as_a_declined_result() -> None:
    agent, fake, ledger = make([Turn.call("close_ticket", {"ticket_id": 7}), Turn.text("ok")])
    paused = await agent.run("close 7")
    done = await agent.resume(paused, {paused.pending[0].approval_id: False})
    assert ledger.ran == []
    assert done.steps[0].status == "declined"
    sent = [i for i in fake.requests[-1].json["input"] if i.get("type") == "function_call_output"]
    assert "person declined" in sent[0]["output"]


async def test_inline_approver_and_its_timeout() -> None:
    async def never(_: Any) -> bool:
        await asyncio.sleep(10)
        return True

    slowpoke = RecordingApprover(never, name="slowpoke")
    agent, _, ledger = make(
        [Turn.call("close_ticket", {"ticket_id": 1}), Turn.text("ok")],
        approver=slowpoke,
        config=RunConfig(approval_timeout=0.05),
    )
    result = await agent.run("close 1")
    assert result.steps[0].status == "declined"
    assert slowpoke.tools == ["close_ticket"]
    assert ledger.ran == []

    approver = RecordingApprover(lambda request: request.arguments["ticket_id"] == 2)
    agent, _, ledger = make(
        [Turn.call("close_ticket", {"ticket_id": 2}), Turn.text("ok")], approver=approver
    )
    result = await agent.run("close 2")
    assert result.steps[0].status == "ok"
    assert result.steps[0].approver == "recording"
    assert [(r.tool, r.arguments) for r in approver.requests] == [
        ("close_ticket", {"ticket_id": 2})
    ]
    assert ledger.ran == [("close_ticket", 2)]


async def test_resume_of_a_finished_run_is_refused() -> None:
    agent, _, _ = make([Turn.text("hi")])
    result = await agent.run("hello")
    with pytest.raises(RunStateError):
        await agent.resume(result, {})


async def test_run_state_round_trips_through_json() -> None:
    agent, _, _ = make([Turn.call("lookup_ticket", {"ticket_id": 3}), Turn.text("done")])
    result = await agent.run("3?")
    again = RunResult.from_json(result.to_json())
    assert again == result


def test_run_sync_outside_and_inside_a_loop() -> None:
    agent, _, _ = make([Turn.text("hello")])
    assert agent.run_sync("hi").output == "hello"

    async def inside() -> None:
        from agentkit.errors import ConfigError

        with pytest.raises(ConfigError, match="event loop"):
            agent.run_sync("hi")

    asyncio.run(inside())


async def test_the_policy_cost_budget_stops_the_next_model_turn() -> None:
    from agentkit.errors import BudgetExceeded
    from agentkit.policy import Policy

    policy = Policy.from_yaml(
        "version: 1\nrun_limits: {max_cost_usd: 0.000001}\nroles: {user: {}}\n"
        "tools:\n  lookup_ticket: {side_effect: read, action: allow, roles: [user]}\n"
    )
    agent, fake, _ = make(
        [Turn.call("lookup_ticket", {"ticket_id": 1}), Turn.text("done")],
        policy=policy,
        principal=Principal(user_id="u", roles=("user",)),
    )
    with pytest.raises(BudgetExceeded):
        await agent.run("what is ticket 1?")
    assert fake.count("/v1/responses") == 1


async def test_chained_responses_send_only_new_items() -> None:
    agent, fake, _ = make(
        [Turn.call("lookup_ticket", {"ticket_id": 5}), Turn.text("five")],
        config=RunConfig(chain_responses=True),
    )
    result = await agent.run("what is 5?")
    first, second = (r.json for r in fake.requests)
    assert first.get("previous_response_id") is None
    assert second["previous_response_id"]
    assert [i["type"] for i in second["input"]] == ["function_call_output"]
    # the fake follows the stored chain to find the turn: "five" proves the chain held
    assert result.output == "five"


class Triage(BaseModel):
    ticket_id: int
    severity: Literal["low", "high"]


class TriageDesk(Desk):
    output_type = Triage


def make_triage(script: list[Turn]) -> tuple[TriageDesk, FakeXAI]:
    fake = FakeXAI(Script(script))
    return TriageDesk(Ledger(), client=scripted_client(fake)), fake


async def test_structured_output_is_requested_and_parsed() -> None:
    agent, fake = make_triage(
        [
            Turn.call("lookup_ticket", {"ticket_id": 4}),
            Turn.text('{"ticket_id":4,"severity":"high"}'),
        ]
    )
    result = await agent.run("triage 4")
    assert result.parsed(Triage) == Triage(ticket_id=4, severity="high")
    text = fake.requests[0].json["text"]["format"]
    assert (text["type"], text["strict"], text["name"]) == ("json_schema", True, "Triage")
    assert text["schema"]["additionalProperties"] is False


async def test_structured_output_gets_one_correction_then_a_typed_error() -> None:
    agent, fake = make_triage(
        [Turn.text("high, I think"), Turn.text('{"ticket_id":4,"severity":"high"}')]
    )
    result = await agent.run("triage 4")
    assert result.structured == {"ticket_id": 4, "severity": "high"}
    assert (
        "does not match the required JSON schema" in fake.requests[1].json["input"][-1]["content"]
    )

    agent, _ = make_triage([Turn.text("nope"), Turn.text('{"ticket_id":"x"}')])
    with pytest.raises(ModelBehaviorError, match="after one correction"):
        await agent.run("triage 4")
