"""Wire facts of issue #12 as a run sees them, through the real client and the fake in-process.

X searches that arrive as `custom_tool_call` items are xAI's own calls: never executed,
recorded, and decided as the `x_search` tool by the policy.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from agentkit import Agent, Principal, RunConfig, tool
from agentkit.audit import capture_audit
from agentkit.errors import ResponseIncomplete
from agentkit.policy import Policy
from agentkit.testing import FakeXAI, Script, Turn, scripted_client

POLICY = """
version: 1
roles:
  researcher: {}
tools:
  x_search: {action: allow, untrusted_output: true, roles: [researcher]}
  x_keyword_search: {action: allow}
"""
POST = "https://x.com/xai/status/1890000000000000000"


class Searcher(Agent):
    server_tools: ClassVar[Any] = [{"type": "x_search"}]
    ran: ClassVar[list[str]] = []

    @tool
    async def x_keyword_search(self, query: str) -> str:
        """A local tool that shares the name of xAI's X search; it must never run for xAI's call.

        Args:
            query: What to look for.
        """
        self.ran.append(query)
        return "local result"


def searcher(roles: tuple[str, ...], *, item: str = "", **kwargs: Any) -> tuple[Searcher, FakeXAI]:
    turn = Turn.search(
        kind="x", query="from:xai grok", results=[{"url": POST}], text="Posted.", item=item
    )
    fake = FakeXAI(Script([turn]))
    agent = Searcher(
        client=scripted_client(fake),
        policy=Policy.from_yaml(POLICY, source="x.yaml"),
        principal=Principal(user_id="u", roles=roles),
        **kwargs,
    )
    return agent, fake


@pytest.mark.parametrize("stream", [False, True])
async def test_an_x_search_custom_tool_call_is_recorded_as_x_search_and_never_run(
    stream: bool,
) -> None:
    Searcher.ran.clear()
    with capture_audit() as audit:
        agent, fake = searcher(("researcher",), audit=audit, config=RunConfig(stream=stream))
        result = await agent.run("What did xAI post?")
    assert fake.requests[0].json["tools"][-1] == {"type": "x_search"}
    [step] = result.steps
    assert (step.tool, step.status, step.untrusted) == ("x_search", "server", True)
    assert step.arguments == {"query": "from:xai grok", "num_results": 1}
    assert step.decision is not None
    assert (step.decision.action, step.decision.rule) == ("allow", "tools.x_search")
    assert Searcher.ran == []  # xAI's call, not ours
    assert result.citations == [POST]
    [decided] = audit.fields_of("call.decided")
    [executed] = audit.fields_of("call.executed")
    assert (decided["tool"], decided["action"], decided["rule"]) == (
        "x_search",
        "allow",
        "tools.x_search",
    )
    assert (executed["tool"], executed["server_side"]) == ("x_search", True)
    assert executed["call_id"] == decided["call_id"] == step.call_id


async def test_a_policy_denying_x_search_shows_on_the_record_of_the_call_xai_made() -> None:
    Searcher.ran.clear()
    with capture_audit() as audit:
        agent, fake = searcher((), audit=audit)  # no researcher role: the policy denies x_search
        result = await agent.run("What did xAI post?")
    assert [t["type"] for t in fake.requests[0].json["tools"]] == ["function"]  # not offered
    [step] = result.steps
    assert step.decision is not None
    assert (step.tool, step.decision.action, step.decision.rule) == (
        "x_search",
        "deny",
        "tools.x_search.roles",
    )
    [decided] = audit.fields_of("call.decided")
    assert (decided["action"], decided["rule"]) == ("deny", "tools.x_search.roles")
    assert Searcher.ran == []


async def test_the_older_x_search_call_item_is_decided_the_same_way() -> None:
    agent, _ = searcher(("researcher",), item="x_search_call")
    result = await agent.run("What did xAI post?")
    [step] = result.steps
    assert step.decision is not None
    assert (step.tool, step.decision.rule) == ("x_search", "tools.x_search")


# --- status "incomplete": the run fails with the reason, its spending counted ---------------------


class Ticketing(Agent):
    ran: ClassVar[list[int]] = []

    @tool
    async def close_ticket(self, ticket_id: int) -> str:
        """Close a ticket.

        Args:
            ticket_id: The ticket.
        """
        self.ran.append(ticket_id)
        return "closed"


@pytest.mark.parametrize("stream", [False, True])
async def test_an_incomplete_answer_fails_the_run_with_its_reason(stream: bool) -> None:
    fake = FakeXAI(Script([Turn(answer="The ticket is", incomplete="max_output_tokens")]))
    with capture_audit() as audit:
        agent = Ticketing(
            client=scripted_client(fake), audit=audit, config=RunConfig(stream=stream)
        )
        with pytest.raises(ResponseIncomplete, match=r"incomplete \(max_output_tokens\)") as info:
            await agent.run("Close ticket 42")
    run = info.value.run
    assert run is not None
    assert (run.status, run.output) == ("failed", None)  # a fragment is not the answer
    assert run.error is not None
    assert run.error.type == "ResponseIncomplete"
    assert (info.value.reason, info.value.partial_text) == ("max_output_tokens", "The ticket is")
    assert run.totals.requests == 1
    assert run.totals.cost_usd > 0  # what it spent still counts
    [responded] = audit.fields_of("model.response")
    assert responded["status"] == "incomplete"
    assert audit.fields_of("run.ended")[-1]["error"] == "ResponseIncomplete"


async def test_calls_in_an_incomplete_answer_are_not_run() -> None:
    Ticketing.ran.clear()
    cut = Turn.call("close_ticket", {"ticket_id": 42})
    fake = FakeXAI(Script([Turn(cut.function_calls, incomplete="max_time_limit"), Turn.text("x")]))
    agent = Ticketing(client=scripted_client(fake))
    with pytest.raises(ResponseIncomplete, match="max_time_limit"):
        await agent.run("Close ticket 42")
    assert Ticketing.ran == []
    assert fake.count() == 1


async def test_a_structured_answer_cut_short_is_not_corrected() -> None:
    from pydantic import BaseModel

    from agentkit.model import ModelRequest

    class Verdict(BaseModel):
        closed: bool

    fake = FakeXAI(Script([Turn.text('{"clo'), Turn.text('{"closed": true}')]))
    request = ModelRequest(
        model="grok-4-1-fast-non-reasoning",
        input=[{"role": "user", "content": "closed?"}],
        max_output_tokens=1,
    )
    async with scripted_client(fake) as client:
        with pytest.raises(ResponseIncomplete, match="max_output_tokens"):
            await client.structured(request, Verdict)
    assert fake.count() == 1  # no correction request for a cut answer
