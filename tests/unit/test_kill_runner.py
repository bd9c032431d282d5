"""The runner's resume at its edges: the deployment's sealer, calls decided again, stale state;
and the policy's overrides on server tools, refused when the runner is built."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from agentkit.decision import AllowAll, Decision, History, Principal, ProposedCall
from agentkit.errors import ConfigError, RunStateError
from agentkit.pipeline.authorise import RecentCalls
from agentkit.pipeline.confirm import seal_state
from agentkit.pipeline.runner import Runner
from agentkit.policy import Policy
from agentkit.sealing import Sealer
from agentkit.state import RunResult, Step
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.clock import FakeClock
from agentkit.testing.scripted_client import scripted_client
from agentkit.tool import Tool

MODEL = "grok-4"
T0 = 1_700_000_000.0
SEALER = Sealer(bytes(range(32)))  # not the suite's default key


class Captured:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def record(self, event: str, fields: Mapping[str, Any]) -> None:
        self.records.append((event, dict(fields)))


class Ledger:
    durable = True

    def consume(self, approval_id: str) -> bool:
        return True


class DenyOnSecondLook:
    """Allows every call at first (the floor makes a destructive one wait); on the second
    decision of a call whose `n` is in `deny`, denies it. Keeps the call ids it was shown."""

    def __init__(self, deny: set[int]) -> None:
        self.deny = deny
        self.seen: list[str] = []

    def decide(self, principal: Principal, call: ProposedCall, history: History) -> Decision:
        again = call.call_id in self.seen
        self.seen.append(call.call_id)
        if again and call.arguments["n"] in self.deny:
            return Decision(action="deny", reason="quota spent", rule="quotas.q")
        return Decision(action="allow", reason="fine", rule="tools.any")


async def close(n: int) -> str:
    """Close a ticket."""
    return f"closed {n}"


async def close_by_name(n: str) -> str:
    """Close a ticket named n."""
    return f"closed {n}"


async def lookup(n: int) -> str:
    """Look up a ticket."""
    return f"row {n}"


def make(
    turns: Iterable[Turn],
    *,
    tools: list[Tool] | None = None,
    authoriser: Any = None,
    sealer: Sealer | None = SEALER,
    window: RecentCalls | None = None,
) -> tuple[Runner, Captured]:
    audit = Captured()
    runner = Runner(
        rate_window=window or RecentCalls(),
        client=scripted_client(FakeXAI(Script(turns))),
        model=MODEL,
        tools=tools or [Tool(close, side_effect="destructive"), Tool(lookup)],
        authoriser=authoriser or AllowAll(),
        audit=audit,
        ledger=Ledger(),
        clock=FakeClock(T0),
        sealer=sealer,
    )
    return runner, audit


async def start(runner: Runner) -> RunResult:
    return await runner.start("close", principal=Principal(user_id="ana"), run_id="run-1")


TWO_CLOSES = Turn.calls([("close", {"n": 1}), ("close", {"n": 2})])


async def test_approvals_are_minted_and_checked_with_the_runners_own_sealer() -> None:
    runner, _ = make([Turn.call("close", {"n": 1}), Turn.text("done")])
    run = await start(runner)
    (pending,) = run.pending
    result = await runner.resume(run, {pending.approval_id: True})
    assert (result.status, result.steps[0].output) == ("completed", "closed 1")


async def test_a_resumed_run_that_ran_to_the_end_carries_no_seal() -> None:
    runner, _ = make([Turn.call("close", {"n": 1}), Turn.text("done")])
    run = await start(runner)
    assert run.seal is not None
    (pending,) = run.pending
    result = await runner.resume(run, {pending.approval_id: True})
    assert result.status == "completed"
    assert result.seal is None
    assert '"seal":null' in result.to_json().replace(" ", "")


async def test_a_call_denied_when_decided_again_is_recorded_and_the_next_approved_one_runs() -> (
    None
):
    policy = DenyOnSecondLook(deny={1})
    window = RecentCalls()
    runner, audit = make([TWO_CLOSES, Turn.text("done")], authoriser=policy, window=window)
    run = await start(runner)
    first_id, second_id = (step.call_id for step in run.steps)
    decisions = {p.approval_id: True for p in run.pending}
    paused_at = len(audit.records)

    result = await runner.resume(run, decisions)

    one, two = result.steps
    assert policy.seen == [first_id, second_id, first_id, second_id]
    assert (one.status, one.output) == ("denied", "Denied by policy (quotas.q): quota spent")
    assert one.decision == Decision(action="deny", reason="quota spent", rule="quotas.q")
    assert (two.status, two.output) == ("ok", "closed 2")
    decided = [f for e, f in audit.records[paused_at:] if e == "call.decided"]
    assert decided == [
        {
            "action": "deny",
            "rule": "quotas.q",
            "reason": "quota spent",
            "call_id": first_id,
            "tool": "close",
            "run_id": "run-1",
            "turn": 1,
            "principal": "ana",
            "request_id": result.usage[0]["request_id"],
        }
    ]
    assert window.snapshot("ana", T0) == {"close": (T0,), "class:destructive": (T0,)}


async def test_an_approved_call_of_a_tool_the_agent_lacks_is_refused_naming_both() -> None:
    runner, _ = make([Turn.call("close", {"n": 1})])
    run = await start(runner)
    other, _ = make([Turn.text("done")], tools=[Tool(lookup)])
    (pending,) = run.pending
    with pytest.raises(RunStateError) as caught:
        await other.resume(run, {pending.approval_id: True})
    assert str(caught.value) == (
        f"the approved call {run.steps[0].call_id} names 'close', a tool this agent does not "
        "have; resume it with the agent that paused it"
    )


async def test_an_approved_call_that_no_longer_fits_its_tool_is_refused_saying_why() -> None:
    runner, _ = make([Turn.call("close", {"n": 1})])
    run = await start(runner)
    renamed = Tool(close_by_name, name="close", side_effect="destructive")
    other, _ = make([Turn.text("done")], tools=[renamed])
    (pending,) = run.pending
    with pytest.raises(RunStateError) as caught:
        await other.resume(run, {pending.approval_id: True})
    assert str(caught.value) == (
        f"the approved call {run.steps[0].call_id} no longer fits: "
        "invalid arguments for close: n: 1 is not of type 'string'"
    )


async def test_an_approved_call_without_arguments_is_refused_naming_it() -> None:
    runner, _ = make([Turn.call("close", {"n": 1})])
    run = await start(runner)
    run.steps.append(Step(call_id="c9", tool="close", turn=1, raw_arguments="{", status="approved"))
    run.open_calls.append("c9")
    seal_state(run, SEALER)
    (pending,) = run.pending
    with pytest.raises(RunStateError) as caught:
        await runner.resume(run, {pending.approval_id: True})
    assert str(caught.value) == "the approved call c9 has no arguments"


def test_a_runner_refuses_untrusted_columns_on_a_server_tool_naming_it() -> None:
    """The runner applies the policy's overrides itself (not only an `Agent`): a server
    tool's output has no columns to mark, so the policy is refused when the runner is built."""
    policy = Policy.from_yaml(
        "version: 1\ntools:\n  web_search: {action: allow, untrusted_columns: [body]}\n"
    )
    with pytest.raises(ConfigError) as caught:
        Runner(
            client=scripted_client(),
            model=MODEL,
            tools=[],
            authoriser=policy,
            server_tools=[{"type": "web_search"}],
        )
    assert str(caught.value) == (
        "server tool 'web_search': the policy sets tools.web_search.untrusted_columns, but a "
        "server tool returns no database rows; its output is untrusted already"
    )
    Runner(client=scripted_client(), model=MODEL, tools=[], authoriser=policy)  # no server tool
