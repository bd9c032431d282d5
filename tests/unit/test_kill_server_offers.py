"""Server-side tools: what the authoriser is asked, what the audit says, what limits stop."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent, Principal, RunConfig
from agentkit.audit import capture_audit
from agentkit.decision import Decision, History, PastCall, ProposedCall
from agentkit.errors import ModelBehaviorError
from agentkit.model.types import FunctionCall
from agentkit.pipeline.authorise import past_call
from agentkit.pipeline.turn import check_call_ids
from agentkit.state import RunResult, Step
from agentkit.testing import FakeXAI, Script, Turn, scripted_client

SEARCH = [{"type": "web_search"}]


class Asked:
    """An authoriser that allows everything and remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[ProposedCall] = []

    def decide(self, principal: Principal, call: ProposedCall, history: History) -> Decision:
        self.calls.append(call)
        return Decision(action="allow", reason="asked and allowed", rule="asked")


class Searcher(Agent):
    server_tools = SEARCH


def searcher(authoriser: Any, **kwargs: Any) -> tuple[Searcher, FakeXAI]:
    turn = Turn.search(kind="web", query="q", results=[{"url": "https://a.example/"}], text="ok")
    fake = FakeXAI(Script([turn]))
    return Searcher(client=scripted_client(fake), policy=authoriser, **kwargs), fake


async def test_the_authoriser_is_asked_about_a_server_tool_as_an_untrusted_source() -> None:
    asked = Asked()
    agent, _ = searcher(asked)
    await agent.run("find")
    [offer] = asked.calls
    assert offer.call_id == "offer:web_search"
    assert offer.tool.name == "web_search"
    assert offer.tool.untrusted_output is True
    assert offer.arguments == {}


async def test_a_server_call_is_audited_with_the_decision_that_offered_it() -> None:
    with capture_audit() as audit:
        agent, _ = searcher(Asked(), audit=audit)
        await agent.run("find")
    [decided] = audit.fields_of("call.decided")
    assert (decided["action"], decided["rule"], decided["reason"]) == (
        "allow",
        "asked",
        "asked and allowed",
    )
    assert decided["tool"] == "web_search"


async def test_run_limits_stop_offering_server_tools() -> None:
    agent, fake = searcher(Asked(), config=RunConfig(max_tool_calls=0))
    await agent.run("find")
    assert [t["type"] for t in fake.requests[0].json.get("tools", [])] == []


def test_a_repeated_call_id_names_the_id_and_the_run() -> None:
    run = RunResult(run_id="r1", agent="a", model="m", principal=Principal())
    calls = [FunctionCall("c1", "t", "{}"), FunctionCall("c1", "t", "{}")]
    with pytest.raises(ModelBehaviorError) as info:
        check_call_ids(run, calls)
    assert (
        str(info.value)
        == "the model repeated the call id 'c1' in run r1; each call needs its own id"
    )


@pytest.mark.parametrize("status", ["failed", "timed_out"])
def test_a_call_that_failed_or_timed_out_is_marked_failed(status: Any) -> None:
    step = Step(
        call_id="c",
        tool="t",
        turn=1,
        raw_arguments="{}",
        arguments={},
        status=status,
        decision=Decision(action="allow", reason="r", rule="x"),
        output="t did not finish within 5 s",
    )
    seen: PastCall | None = past_call(step, {}, at=0.0)
    assert seen is not None
    assert seen.failed is True
    ok = past_call(step.model_copy(update={"status": "ok"}), {}, at=0.0)
    assert ok is not None
    assert ok.failed is False
