"""Approvals and resume at their seams: call ids, partial and typed decisions, pending calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import Agent, Principal, RunResult, tool
from agentkit.errors import ConfigError, ModelBehaviorError
from agentkit.model.types import FunctionCall, ModelRequest, ModelResponse, Usage
from agentkit.pipeline.confirm import MemoryLedger
from agentkit.policy import Policy
from agentkit.testing import Turn, scripted_client

POLICY = """
version: 1
roles: {holder: {}}
tools:
  lookup: {side_effect: read, action: allow}
  transfer:
    side_effect: financial
    action: confirm
    rate_limit: {per_run: 3}
  drop_all:
    side_effect: destructive
    action: deny
quotas:
  - {id: money-out, classes: [financial], sum: amount, max: 10000}
"""
HOLDER = Principal(user_id="ana", roles=("holder",))


class Bank(Agent):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ran: list[tuple[str, Any]] = []

    @tool
    async def lookup(self, n: int) -> str:
        """Look up."""
        self.ran.append(("lookup", n))
        return f"item {n}"

    @tool(side_effect="financial")
    async def transfer(self, to: str, amount: int) -> str:
        """Transfer money."""
        self.ran.append(("transfer", amount))
        return f"sent {amount} to {to}"

    @tool(destructive=True)
    async def drop_all(self, n: int) -> str:
        """Drop everything."""
        self.ran.append(("drop_all", n))
        return "dropped"


def bank(turns: list[Turn], ledger: MemoryLedger, policy: str = POLICY) -> Bank:
    return Bank(
        client=scripted_client(turns),
        policy=Policy.from_yaml(policy),
        principal=HOLDER,
        approvals=ledger,
    )


class Replies:
    """A model client answering with exactly the function calls it is given."""

    def __init__(self, turns: list[list[FunctionCall]]) -> None:
        self._turns: Iterator[list[FunctionCall]] = iter(turns)

    async def respond(self, request: ModelRequest) -> ModelResponse:
        calls = next(self._turns, [])
        output = [
            {
                "type": "function_call",
                "call_id": c.call_id,
                "name": c.name,
                "arguments": c.arguments,
            }
            for c in calls
        ]
        if not calls:
            output = [{"type": "message", "role": "assistant", "content": []}]
        return ModelResponse(
            id="resp",
            model=request.model,
            status="completed",
            output=output,
            usage=Usage(request_id="req", model=request.model, endpoint="responses"),
            request_id="req",
            function_calls=calls,
            text="" if calls else "done",
        )

    async def aclose(self) -> None:
        return None


# --- repeated call ids ---------------------------------------------------------------------

CALLS = {
    "lookup": json.dumps({"n": 1}),
    "transfer": json.dumps({"to": "bob", "amount": 10}),
    "drop_all": json.dumps({"n": 7}),
}


def allow_every_approval() -> Any:
    from agentkit.testing import RecordingApprover

    return RecordingApprover(True)


@settings(max_examples=80, deadline=None)
@given(
    first=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(list(CALLS))),
        max_size=3,
        unique_by=lambda c: c[0],
    ),
    second=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(list(CALLS))),
        min_size=1,
        max_size=4,
    ),
)
def test_a_repeated_call_id_ends_the_run_before_any_call_of_its_turn_runs(
    first: list[tuple[str, str]], second: list[tuple[str, str]]
) -> None:
    import asyncio

    ids = [i for i, _ in first] + [i for i, _ in second]
    if len(set(ids)) == len(ids):
        second = [*second, (second[0][0], "drop_all")]  # force one repeat
    turns = [
        [FunctionCall(call_id=i, name=name, arguments=CALLS[name]) for i, name in turn]
        for turn in (first, second)
        if turn
    ]
    agent = Bank(
        client=Replies(turns),
        policy=Policy.from_yaml(POLICY),
        principal=HOLDER,
        approver=allow_every_approval(),
    )
    with pytest.raises(ModelBehaviorError, match="repeated the call id") as info:
        asyncio.run(agent.run("go"))
    run = info.value.run
    assert run is not None
    assert run.status == "failed"
    failing_turn = run.turn
    assert all(step.turn < failing_turn for step in run.steps), "no step of that turn exists"
    assert len(agent.ran) == sum(1 for s in run.steps if s.status == "ok")
    assert ("drop_all", 7) not in agent.ran


# --- typed decisions ---------------------------------------------------------------------


async def paused_transfer(ledger: MemoryLedger) -> tuple[Bank, RunResult]:
    agent = bank([Turn.call("transfer", {"to": "bob", "amount": 100}), Turn.text("done")], ledger)
    paused = await agent.run("pay bob 100")
    assert paused.status == "awaiting_approval"
    return agent, paused


@settings(max_examples=40, deadline=None)
@given(
    verdict=st.one_of(
        st.sampled_from(["false", "no", "0", "", "true", "yes"]),
        st.integers(),
        st.none(),
        st.floats(allow_nan=True),
        st.lists(st.booleans(), max_size=1),
    )
)
def test_a_verdict_that_is_not_a_bool_is_a_config_error_and_runs_nothing(verdict: Any) -> None:
    import asyncio

    async def scenario() -> None:
        agent, paused = await paused_transfer(MemoryLedger())
        [pending] = paused.pending
        with pytest.raises(ConfigError, match="must be True or False"):
            await agent.resume(paused, {pending.approval_id: verdict})
        assert agent.ran == []
        assert paused.status == "awaiting_approval"
        assert paused.pending == [pending], "the run stays as it was"

    asyncio.run(scenario())


async def test_a_decision_that_is_not_an_approval_decision_is_a_config_error() -> None:
    agent, paused = await paused_transfer(MemoryLedger())
    with pytest.raises(ConfigError, match="must be an ApprovalDecision"):
        await agent.resume(paused, [paused.pending[0].approval_id])  # type: ignore[list-item]
    assert agent.ran == []


# --- partial decisions -------------------------------------------------------------------


async def test_calls_approved_one_at_a_time_each_run_once_when_the_last_is_decided() -> None:
    ledger = MemoryLedger()
    turns = [
        Turn.calls(
            [("transfer", {"to": "bob", "amount": 100}), ("transfer", {"to": "eve", "amount": 200})]
        ),
        Turn.text("both sent"),
    ]
    agent = bank(turns, ledger)
    paused = await agent.run("pay bob and eve")
    first, second = paused.pending
    still = await agent.resume(paused, {first.approval_id: True})
    assert still.status == "awaiting_approval"
    assert agent.ran == [], "an approved call waits for the others of its turn"
    assert still.step(first.call_id).status == "approved"

    # another agent (as in another process) takes the stored state and the shared ledger
    other = bank([Turn.text("unused: turn 1 was answered"), Turn.text("both sent")], ledger)
    done = await other.resume(RunResult.from_json(still.to_json()), {second.approval_id: True})
    assert done.status == "completed"
    assert other.ran == [("transfer", 100), ("transfer", 200)]
    outputs = [i for i in done.conversation if i.get("type") == "function_call_output"]
    assert [o["output"] for o in outputs] == ["sent 100 to bob", "sent 200 to eve"]


async def test_the_same_decision_twice_counts_once_and_conflicting_ones_are_refused() -> None:
    from agentkit.errors import ApprovalRefused
    from agentkit.pipeline.confirm import ApprovalDecision

    agent, paused = await paused_transfer(MemoryLedger())
    [pending] = paused.pending
    yes = ApprovalDecision.approve(pending, approver="lee")
    no = ApprovalDecision.deny(pending, approver="lee")
    with pytest.raises(ApprovalRefused, match="both approved and denied"):
        await agent.resume(paused, [yes, no])
    assert paused.pending == [pending]
    done = await agent.resume(paused, [yes, yes])
    assert done.status == "completed"
    assert agent.ran == [("transfer", 100)]


# --- pending calls count -----------------------------------------------------------------


async def test_calls_waiting_for_approval_count_against_quotas_and_per_run_caps() -> None:
    transfers = [("transfer", {"to": f"p{i}", "amount": 4000}) for i in range(5)]
    agent = bank([Turn.calls(transfers), Turn.text("done")], MemoryLedger())
    paused = await agent.run("pay five people 4000 each")
    assert len(paused.pending) == 2, "a third 4000 would pass the 10000 quota"
    rules = [s.decision.rule for s in paused.steps if s.decision and s.status == "denied"]
    assert rules == ["quotas.money-out"] * 3
    done = await agent.resume(paused, dict.fromkeys([p.approval_id for p in paused.pending], True))
    assert done.status == "completed"
    assert sum(amount for name, amount in agent.ran if name == "transfer") == 8000


async def test_resume_decides_each_approved_call_again_before_it_runs() -> None:
    ledger = MemoryLedger()
    _, paused = await paused_transfer(ledger)
    stricter = POLICY.replace("action: confirm", "action: deny")
    other = bank([Turn.text("unused: turn 1"), Turn.text("not sent")], ledger, policy=stricter)
    done = await other.resume(paused, {paused.pending[0].approval_id: True})
    step = done.steps[0]
    assert step.status == "denied", "an approval never widens what the policy allows now"
    assert other.ran == []
    assert step.decision is not None
    assert step.decision.rule == "tools.transfer"


# --- single use without a wired ledger -----------------------------------------------------


def plain_bank(turns: list[Turn], **options: Any) -> Bank:
    """A bank given no ledger and (unless `options` say otherwise) no audit log: what is
    left to catch a replay is the ledger every agent of the process shares."""
    options.setdefault("audit", None)
    return Bank(
        client=scripted_client(turns), policy=Policy.from_yaml(POLICY), principal=HOLDER, **options
    )


async def test_fresh_agents_of_one_process_share_the_record_of_used_approvals() -> None:
    from agentkit.errors import ApprovalRefused

    script = [Turn.call("transfer", {"to": "bob", "amount": 100}), Turn.text("sent")]
    paused = await plain_bank(script).run("pay bob")
    stored = paused.to_json()
    decision = {paused.pending[0].approval_id: True}
    agents = [plain_bank(script) for _ in range(3)]
    done = await agents[0].resume(RunResult.from_json(stored), decision)
    assert done.status == "completed"
    for agent in agents[1:]:
        with pytest.raises(ApprovalRefused, match="already used"):
            await agent.resume(RunResult.from_json(stored), decision)
    assert [a.ran for a in agents] == [[("transfer", 100)], [], []]


async def test_agents_given_no_audit_share_the_default_log_which_witnesses_used_approvals() -> None:
    from agentkit.agent import DEFAULT_AUDIT
    from agentkit.errors import ApprovalRefused

    script = [Turn.call("transfer", {"to": "bob", "amount": 100}), Turn.text("sent")]
    paused = await plain_bank(script, audit=DEFAULT_AUDIT).run("pay bob")
    stored = paused.to_json()
    decision = {paused.pending[0].approval_id: True}
    first, second = (plain_bank(script, audit=DEFAULT_AUDIT) for _ in range(2))
    assert (await first.resume(RunResult.from_json(stored), decision)).status == "completed"
    with pytest.raises(ApprovalRefused, match="audit log records as used"):
        await second.resume(RunResult.from_json(stored), decision)
    assert (first.ran, second.ran) == ([("transfer", 100)], [])


async def test_a_run_paused_elsewhere_needs_a_ledger_every_process_shares() -> None:
    script = [Turn.call("transfer", {"to": "bob", "amount": 100}), Turn.text("sent")]
    elsewhere = bank(script, MemoryLedger())  # stands for another process's ledger
    paused = await elsewhere.run("pay bob")
    agent = plain_bank(script)
    with pytest.raises(ConfigError, match="ledger every process shares"):
        await agent.resume(
            RunResult.from_json(paused.to_json()), {paused.pending[0].approval_id: True}
        )
    assert agent.ran == []
