"""Wire facts of issue #12 as a run sees them, through the real client and the fake in-process.

X searches that arrive as `custom_tool_call` items are xAI's own calls: never executed,
recorded, and decided as the `x_search` tool by the policy.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from agentkit import Agent, Principal, RunConfig, tool
from agentkit.audit import capture_audit
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
