"""Checkpoints: the runner reports a sealed state at the start of each turn and marks each
call that changes something before it runs; `continue_from` takes up exactly such a state
and refuses anything else (edited, another key, a paused or mid-turn state)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit import Agent, AllowAll, tool
from agentkit.audit.testing import CapturedAudit
from agentkit.decision import Principal
from agentkit.errors import AuditWriteFailed, RunStateError, RunStateTampered, StaleRunState
from agentkit.pipeline.confirm import sealed_json
from agentkit.policy import Policy
from agentkit.sealing import Sealer
from agentkit.state import RunResult, Step
from agentkit.testing import Script, Turn, scripted_client

WROTE: list[str] = []


class Desk(Agent):
    policy = AllowAll()

    @tool
    async def look(self, ticket: int) -> str:
        """Look a ticket up."""
        return f"ticket {ticket}"

    @tool(side_effect="write")
    async def close(self, ticket: int) -> str:
        """Close a ticket."""
        WROTE.append(f"close {ticket}")
        return "closed"


SCRIPT = Script([Turn.call("look", {"ticket": 1}), Turn.call("close", {"ticket": 1}),
                 Turn.text("done")])  # fmt: skip
KEY = Sealer(bytes(range(32)))
CONFIRM_CLOSE = """
version: 1
tools:
  look: {side_effect: read, action: allow}
  close: {side_effect: write, action: confirm}
"""


class Kept:
    """Checkpoints kept in memory, with what happened in between."""

    def __init__(self) -> None:
        self.states: list[str] = []
        self.log: list[str] = []

    async def turn_starting(self, run_id: str, state: str) -> None:
        assert run_id == json.loads(state)["run_id"]
        self.states.append(state)
        self.log.append(f"turn {json.loads(state)['turn']}")

    async def effect_starting(self, run: RunResult, step: Step) -> None:
        assert step in run.steps
        self.log.append(f"effect {step.tool}")


def agent(script: Script = SCRIPT) -> Desk:
    return Desk(client=scripted_client(script), audit=None, sealer=KEY)


def test_each_turn_is_checkpointed_and_each_effect_marked_before_it_runs() -> None:
    kept = Kept()
    WROTE.clear()
    result = asyncio.run(agent().run("go", checkpoints=kept))
    assert result.status == "completed"
    assert kept.log == ["turn 0", "turn 1", "effect close", "turn 2"]  # a read is not marked
    for text in kept.states:
        state = RunResult.from_json(text)
        assert state.status == "running"
        assert not state.open_calls  # between turns: every output is in the conversation
        assert state.seal is not None
    assert result.seal is None  # the run itself is not left sealed


def test_continuing_from_a_checkpoint_redoes_only_the_model_turn() -> None:
    kept = Kept()
    WROTE.clear()
    asyncio.run(agent().run("go", checkpoints=kept))
    assert WROTE == ["close 1"]
    after_the_write = kept.states[2]  # the turn after the write: continuing repeats nothing
    continued = asyncio.run(agent().continue_from(after_the_write))
    assert continued.status == "completed"
    assert continued.output == "done"
    assert WROTE == ["close 1"]


def test_a_checkpoint_of_another_principal_is_refused() -> None:
    kept = Kept()
    asyncio.run(agent().run("go", checkpoints=kept, principal=Principal(user_id="ana")))
    with pytest.raises(RunStateError, match="belongs to 'ana'"):
        asyncio.run(agent().continue_from(kept.states[1], principal=Principal(user_id="bob")))


def test_a_checkpoint_under_another_key_is_refused() -> None:
    kept = Kept()
    asyncio.run(agent().run("go", checkpoints=kept))
    other = Desk(client=scripted_client(SCRIPT), audit=None, sealer=Sealer(bytes(32)))
    with pytest.raises(RunStateTampered):
        asyncio.run(other.continue_from(kept.states[1]))


@pytest.mark.parametrize(
    "change",
    [
        {"status": "awaiting_approval"},
        {"status": "completed"},
        {"open_calls": ["call_x"]},
    ],
)
def test_only_a_running_state_between_turns_continues(change: dict[str, Any]) -> None:
    kept = Kept()
    asyncio.run(agent().run("go", checkpoints=kept))
    state = RunResult.from_json(kept.states[1]).model_copy(update=change)
    with pytest.raises(RunStateError):
        asyncio.run(agent().continue_from(state))


_FIELDS = ["conversation", "user_messages", "turn", "principal", "consumed_approvals",
           "steps", "tool_errors", "run_id"]  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(_FIELDS), junk=st.text(min_size=1, max_size=8))
def test_any_edit_to_a_checkpoint_is_refused(field: str, junk: str) -> None:
    kept = Kept()
    asyncio.run(agent().run("go", checkpoints=kept))
    data = json.loads(kept.states[2])
    value = data[field]
    if isinstance(value, list):
        data[field] = (
            [*value, {"type": "message", "content": junk}]
            if field == "conversation"
            else [*value, junk]
            if field in ("user_messages", "consumed_approvals")
            else value[:-1]
        )
    elif isinstance(value, int):
        data[field] = value + 1 + len(junk)
    elif isinstance(value, dict):
        data[field] = {**value, "user_id": value["user_id"] + junk}
    else:
        data[field] = value + junk
    WROTE.clear()
    with pytest.raises(RunStateTampered):
        asyncio.run(agent().continue_from(json.dumps(data)))
    assert WROTE == []


def test_a_continued_run_reports_from_where_it_goes_on() -> None:
    kept, later = Kept(), Kept()
    asyncio.run(agent().run("go", checkpoints=kept))
    seen: list[Any] = []
    continued = asyncio.run(
        agent().continue_from(kept.states[1], events=seen.append, checkpoints=later)
    )
    assert later.log == ["effect close", "turn 2"]  # not its own checkpoint a second time
    assert seen[0].type == "run.resumed"
    assert seen[0].data == {"reason": "continued"}
    assert continued.seal is None


@pytest.mark.parametrize("status", ["awaiting_approval", "completed", "failed"])
def test_a_sealed_state_that_is_no_checkpoint_is_refused_as_such(status: str) -> None:
    kept = Kept()
    asyncio.run(agent().run("go", checkpoints=kept))
    state = RunResult.from_json(kept.states[1]).model_copy(update={"status": status})
    with pytest.raises(RunStateError, match="not a checkpoint taken between turns") as refused:
        asyncio.run(agent().continue_from(sealed_json(state, KEY)))
    assert not isinstance(refused.value, RunStateTampered)  # refused before its seal is read
    mid_turn = RunResult.from_json(kept.states[1]).model_copy(update={"open_calls": ["c1"]})
    with pytest.raises(RunStateError, match="1 open calls"):
        asyncio.run(agent().continue_from(sealed_json(mid_turn, KEY)))


def test_a_checkpoint_older_than_an_approval_the_audit_saw_used_is_refused() -> None:
    """A rolled-back checkpoint must not run an approved call a second time."""
    audit = CapturedAudit()
    script = Script([Turn.call("close", {"ticket": 1}), Turn.text("done")])
    confirming = Desk(client=scripted_client(script), audit=audit, sealer=KEY,
                      policy=Policy.from_yaml(CONFIRM_CLOSE))  # fmt: skip
    kept = Kept()
    paused = asyncio.run(confirming.run("go", checkpoints=kept))
    [pending] = paused.pending
    asyncio.run(confirming.resume(paused, {pending.approval_id: True}))
    with pytest.raises(StaleRunState):
        asyncio.run(confirming.continue_from(kept.states[-1]))


class FailingAudit(CapturedAudit):
    def record(self, event: str, fields: Any) -> Any:
        if event == "run.resumed":
            raise AuditWriteFailed("the disk is full")
        return super().record(event, fields)


def test_a_continue_the_audit_cannot_record_fails_with_its_state() -> None:
    kept = Kept()
    asyncio.run(agent().run("go", checkpoints=kept))
    failing = Desk(client=scripted_client(SCRIPT), audit=FailingAudit(), sealer=KEY)
    with pytest.raises(AuditWriteFailed) as failed:
        asyncio.run(failing.continue_from(kept.states[1]))
    assert failed.value.run is not None
    assert failed.value.run.status == "failed"
    assert failed.value.run.error is not None
