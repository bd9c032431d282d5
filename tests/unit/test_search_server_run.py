"""Server-side search end to end, offline: an agent's request carries the policy's filters,
xAI's search is reported (never run by us), and its citations reach the result and transcript."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from agentkit import Agent, RunConfig, tool
from agentkit.policy import Policy
from agentkit.testing import FakeXAI, Script, Turn, scripted_client
from agentkit.tools.search import server_search_tools
from agentkit.transcript import Transcript

POLICY = Policy.from_yaml(
    """
version: 1
roles:
  researcher: {}
lists:
  official: {values: [xai, grok]}
tools:
  web_search:
    action: allow
    untrusted_output: true
    roles: [researcher]
    args:
      sources: {domains: {allow: [docs.python.org, peps.python.org]}}
  x_search:
    action: allow
    untrusted_output: true
    roles: [researcher]
    args:
      handles: {in_list: official}
""",
    source="research.yaml",
)

SOURCES = [
    {"url": "https://docs.python.org/3/library/asyncio-task.html", "title": "Coroutines and Tasks"},
    {"url": "https://peps.python.org/pep-0654/", "title": "PEP 654"},
]


class Researcher(Agent):
    instructions = "Answer with sources."
    server_tools: ClassVar[Any] = server_search_tools(
        POLICY, x={"from_date": "2025-01-01"}, web={"enable_image_understanding": False}
    )
    ran: ClassVar[list[str]] = []

    @tool
    async def note(self, text: str) -> str:
        """Keep a note.

        Args:
            text: The note.
        """
        self.ran.append(text)
        return "noted"


def researcher(turns: list[Turn], stream: bool = False) -> tuple[Researcher, FakeXAI]:
    fake = FakeXAI(Script(turns))
    return Researcher(client=scripted_client(fake), config=RunConfig(stream=stream)), fake


@pytest.mark.parametrize("stream", [False, True])
async def test_web_search_runs_at_xai_with_the_policy_filters(stream: bool) -> None:
    search = Turn.search(
        kind="web",
        query="asyncio timeout",
        results=SOURCES,
        text="Use asyncio.timeout().",
    )
    agent, fake = researcher([search], stream=stream)
    result = await agent.run("How do I time out an await?")

    tools = fake.requests[0].json["tools"]
    assert (tools[0]["type"], tools[0]["name"]) == ("function", "note")
    assert tools[1:] == [
        {
            "type": "web_search",
            "allowed_domains": ["docs.python.org", "peps.python.org"],
            "enable_image_understanding": False,
        },
        {"type": "x_search", "allowed_x_handles": ["grok", "xai"], "from_date": "2025-01-01"},
    ]
    assert result.status == "completed"
    assert result.citations == [s["url"] for s in SOURCES]
    [step] = result.steps
    assert (step.status, step.tool, step.untrusted) == ("server", "web_search", True)
    assert step.arguments is not None
    assert step.arguments["query"] == "asyncio timeout"
    assert Researcher.ran == [], "no function tool ran: xAI did the search"

    text = Transcript().render(result)
    assert "sources" in text
    for source in SOURCES:
        assert source["url"] in text


async def test_x_search_citations_are_collected_too() -> None:
    post = "https://x.com/xai/status/1890000000000000000"
    agent, _ = researcher(
        [Turn.search(kind="x", query="from:xai grok", results=[{"url": post}], text="Posted.")]
    )
    result = await agent.run("What did xAI post?")
    assert result.citations == [post]
    assert [s.status for s in result.steps] == ["server"]
    assert post in Transcript().render(result)


async def test_a_principal_without_the_role_gets_no_search_entries() -> None:
    from agentkit.decision import Principal

    entries = server_search_tools(POLICY, principal=Principal(roles=()), x=True)

    class Plain(Agent):
        server_tools = entries

    fake = FakeXAI(Script([Turn.text("I cannot search.")]))
    agent = Plain(client=scripted_client(fake))
    result = await agent.run("search please")
    assert fake.requests[0].json.get("tools", []) == []
    assert result.citations == []


@pytest.mark.parametrize(
    ("roles", "offered"), [((), []), (("researcher",), ["web_search", "x_search"])]
)
async def test_server_side_searches_are_offered_per_principal_and_decided_by_the_policy(
    roles: tuple[str, ...], offered: list[str]
) -> None:
    from agentkit import Principal

    search = Turn.search(kind="web", query="q", results=SOURCES, text="Answer.")
    fake = FakeXAI(Script([search]))
    agent = Researcher(
        client=scripted_client(fake),
        policy=POLICY,
        principal=Principal(user_id="u", roles=roles),
    )
    result = await agent.run("find it")
    sent = [t["type"] for t in fake.requests[0].json["tools"] if t["type"] != "function"]
    assert sent == offered
    if offered:
        [step] = result.steps
        assert step.decision is not None
        assert (step.decision.action, step.decision.rule) == ("allow", "tools.web_search")
