"""Stage authorise: what the policy sees of the past, limits first, the destructive floor."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent, RunConfig, tool
from agentkit.decision import (
    Decision,
    History,
    PastCall,
    Principal,
    ProposedCall,
)
from agentkit.model import XAIClient
from agentkit.pipeline.authorise import RecentCalls, authorise, history_for, past_call
from agentkit.pipeline.validate import ValidCall
from agentkit.policy import Policy
from agentkit.run_limits import RunLimits
from agentkit.state import RunResult, Step, StepStatus
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.tool import Tool


async def fetch(url: str) -> str:
    """Fetch a page."""
    return url


async def drop(name: str) -> str:
    """Drop a table."""
    return name


TOOLS = {
    "fetch": Tool(fetch, side_effect="external_send", untrusted_output=True),
    "drop": Tool(drop, side_effect="destructive"),
}
ALLOW = Decision(action="allow", reason="ok", rule="tools.fetch")
CONFIRM = Decision(action="confirm", reason="ask", rule="tools.fetch")
DENY = Decision(action="deny", reason="no", rule="tools.fetch")


def step(
    status: StepStatus,
    decision: Decision | None = ALLOW,
    *,
    tool_name: str = "fetch",
    arguments: dict[str, Any] | None = None,
    output: str | None = "page",
    untrusted: bool = True,
) -> Step:
    return Step(
        call_id="c1",
        tool=tool_name,
        turn=1,
        raw_arguments="{}",
        arguments={"url": "https://a.example"} if arguments is None else arguments,
        status=status,
        decision=decision,
        output=output,
        untrusted=untrusted,
    )


def test_a_call_that_ran_is_executed_with_its_output() -> None:
    seen = past_call(step("ok"), TOOLS, at=12.5)
    assert seen == PastCall(
        call_id="c1",
        tool="fetch",
        side_effect="external_send",
        arguments={"url": "https://a.example"},
        action="allow",
        executed=True,
        untrusted_output=True,
        output="page",
        at=12.5,
    )


@pytest.mark.parametrize("status", ["ok", "failed", "timed_out", "server"])
def test_every_status_of_a_body_that_ran_counts_as_executed(status: StepStatus) -> None:
    seen = past_call(step(status), TOOLS, at=0.0)
    assert seen is not None
    assert seen.executed is True
    assert seen.output == "page"


@pytest.mark.parametrize("decision", [ALLOW, CONFIRM])
def test_a_call_allowed_earlier_in_the_same_turn_counts_as_executed_before_it_runs(
    decision: Decision,
) -> None:
    seen = past_call(step("pending", decision, output=None), TOOLS, at=0.0)
    assert seen is not None
    assert seen.executed is True
    assert seen.action == decision.action
    assert seen.output is None


def test_a_pending_call_that_was_denied_does_not_count_as_executed() -> None:
    seen = past_call(step("pending", DENY), TOOLS, at=0.0)
    assert seen is not None
    assert seen.executed is False


@pytest.mark.parametrize("status", ["denied", "declined", "invalid", "unknown_tool"])
def test_calls_that_did_not_run_are_not_executed_and_show_no_output(status: StepStatus) -> None:
    seen = past_call(step(status, CONFIRM, output="Denied by policy"), TOOLS, at=0.0)
    assert seen is not None
    assert seen.executed is False
    assert seen.output is None


@pytest.mark.parametrize("status", ["awaiting_approval", "approved"])
def test_calls_waiting_for_a_person_count_as_executed_but_show_no_output(
    status: StepStatus,
) -> None:
    seen = past_call(step(status, CONFIRM, output=None), TOOLS, at=0.0)
    assert seen is not None
    assert seen.executed is True, "a call that may still run counts against quotas and caps"
    assert seen.output is None


def test_calls_without_a_decision_or_arguments_never_reached_the_policy() -> None:
    assert past_call(step("invalid", None), TOOLS, at=0.0) is None
    no_arguments = step("ok")
    no_arguments.arguments = None
    assert past_call(no_arguments, TOOLS, at=0.0) is None


def test_a_past_call_of_a_tool_the_agent_lacks_is_read_only() -> None:
    seen = past_call(step("server", tool_name="web_search"), TOOLS, at=0.0)
    assert seen is not None
    assert seen.side_effect == "read"


def test_recent_calls_keep_the_window_per_principal() -> None:
    recent = RecentCalls(window=60.0)
    recent.add("ana", "fetch", 39.9)
    recent.add("ana", "fetch", 40.0)
    recent.add("ana", "fetch", 99.0)
    recent.add("ana", "drop", 10.0)
    recent.add("bo", "fetch", 99.0)
    assert recent.snapshot("ana", now=100.0) == {"fetch": (40.0, 99.0)}
    assert recent.snapshot("bo", now=100.0) == {"fetch": (99.0,)}
    assert recent.snapshot("cy", now=100.0) == {}


def test_history_is_derived_from_the_run_state() -> None:
    run = RunResult(
        run_id="r1",
        agent="a",
        model="m",
        principal=Principal(user_id="ana"),
        user_messages=["fetch a"],
        turn=3,
    )
    run.totals.cost_usd = 0.25
    first = step("ok")
    first.started_at = 7.0
    run.steps = [first, step("invalid", None)]
    recent = RecentCalls()
    recent.add("ana", "fetch", 95.0)
    recent.add("bo", "fetch", 96.0)
    history = history_for(run, TOOLS, now=100.0, recent=recent)
    assert history == History(
        run_id="r1",
        turn=3,
        calls=(past_call(first, TOOLS, at=7.0),),
        user_messages=("fetch a",),
        cost_usd=0.25,
        now=100.0,
        principal_recent_calls={"fetch": (95.0,)},
    )


class Recording:
    """An authoriser that remembers what it was asked."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        self.asked: list[tuple[Principal, ProposedCall, History]] = []

    def decide(self, principal: Principal, call: ProposedCall, history: History) -> Decision:
        self.asked.append((principal, call, history))
        return self.decision


def a_run() -> RunResult:
    return RunResult(run_id="r1", agent="a", model="m", principal=Principal(user_id="ana"))


def test_the_authoriser_decides_a_call_within_the_limits() -> None:
    authoriser = Recording(ALLOW)
    run = a_run()
    valid = ValidCall(TOOLS["fetch"], {"url": "https://a.example"}, {"url": "https://a.example"})
    history = History(run_id="r1")
    decision = authorise(authoriser, RunLimits(max_tool_calls=1), run, "c9", valid, history)
    assert decision == ALLOW
    [(principal, proposed, seen)] = authoriser.asked
    assert principal == run.principal
    assert proposed == ProposedCall(
        call_id="c9", tool=TOOLS["fetch"].info, arguments={"url": "https://a.example"}
    )
    assert seen is history


def test_a_limit_denies_before_the_authoriser_is_asked() -> None:
    authoriser = Recording(ALLOW)
    executed = past_call(step("ok"), TOOLS, at=0.0)
    assert executed is not None
    history = History(calls=(executed,))
    valid = ValidCall(TOOLS["fetch"], {"url": "https://a.example"}, {"url": "https://a.example"})
    decision = authorise(authoriser, RunLimits(max_tool_calls=1), a_run(), "c2", valid, history)
    assert (decision.action, decision.rule) == ("deny", "run_limits.max_tool_calls")
    assert authoriser.asked == []


def test_an_allowed_destructive_call_is_floored_to_confirm() -> None:
    valid = ValidCall(TOOLS["drop"], {"name": "users"}, {"name": "users"})
    allow = Decision(action="allow", reason="ok", rule="custom")
    decision = authorise(Recording(allow), RunLimits(), a_run(), "c1", valid, History())
    assert decision == Decision(
        action="confirm", reason="drop is destructive: a person must confirm it", rule="destructive"
    )


class Payments(Agent):
    def __init__(self, **kwargs: Any) -> None:
        self.ran: list[int] = []
        super().__init__(**kwargs)

    @tool(side_effect="financial")
    async def pay(self, amount: int) -> str:
        """Pay an amount."""
        self.ran.append(amount)
        return f"paid {amount}"


QUOTA = """version: 1
tools: {pay: {action: allow}}
quotas:
  - {id: spend, sum: amount, max: 100, tools: [pay]}
"""


async def run_payments(calls: list[int], **kwargs: Any) -> tuple[Payments, RunResult]:
    turns = [Turn.calls([("pay", {"amount": a}) for a in calls]), Turn.text("done")]
    fake = FakeXAI(Script(turns))
    client = XAIClient(api_key="test-key-123456", transport=fake.transport())
    agent = Payments(client=client, **kwargs)
    return agent, await agent.run("pay")


async def test_a_quota_counts_calls_allowed_earlier_in_the_turn_that_have_not_run() -> None:
    agent, result = await run_payments([60, 30, 20], policy=Policy.from_yaml(QUOTA))
    assert [s.status for s in result.steps] == ["ok", "ok", "denied"]
    assert result.steps[2].decision is not None
    assert result.steps[2].decision.rule == "quotas.spend"
    assert agent.ran == [60, 30]


async def test_the_tool_call_limit_denies_exactly_the_calls_past_it() -> None:
    agent, result = await run_payments(
        [1, 2, 3, 4, 5], policy=Policy.from_yaml(QUOTA), config=RunConfig(max_tool_calls=3)
    )
    assert [s.status for s in result.steps] == ["ok", "ok", "ok", "denied", "denied"]
    assert {s.decision.rule for s in result.steps[3:] if s.decision} == {
        "run_limits.max_tool_calls"
    }
    assert agent.ran == [1, 2, 3]
