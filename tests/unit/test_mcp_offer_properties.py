"""Properties of what reaches xAI and the model from MCP tools, over generated inputs: a
remote MCP entry offers exactly the tools the policy allows outright (never one it would
confirm or deny, never the deployment's bookkeeping), and a tool's name on the wire
always leads back to that one tool, or the tools do not load."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agentkit.decision import Decision
from agentkit.errors import ConfigError
from agentkit.tool import SchemaTool, wire_entries
from agentkit.tools.mcp.remote import TOOLS_KEY, offered_mcp, xai_mcp

part = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
actions = st.sampled_from(["allow", "confirm", "deny"])
classes = st.sampled_from(["read", "write", "destructive", "external_send"])


@given(tools=st.dictionaries(part, st.tuples(classes, actions), min_size=1, max_size=6))
def test_a_remote_entry_offers_exactly_what_the_policy_allows_now(
    tools: dict[str, tuple[str, str]],
) -> None:
    entry = xai_mcp("srv", "https://mcp.example.com", authorization="t",
                    tools={name: side for name, (side, _) in tools.items()})  # type: ignore[misc]  # fmt: skip
    asked: list[tuple[str, str]] = []

    def decide(name: str, side_effect: Any) -> Decision:
        asked.append((name, side_effect))
        action = tools[name.split(".", 1)[1]][1]
        return Decision(action=action, reason="r", rule=f"tools.{name}")  # type: ignore[arg-type]

    sent, decisions = offered_mcp(entry, decide)
    allowed = sorted(name for name, (_, action) in tools.items() if action == "allow")
    assert sorted(asked) == sorted((f"srv.{n}", side) for n, (side, _) in tools.items())
    assert set(decisions) == {f"srv.{name}" for name in tools}
    if not allowed:
        assert sent is None
    else:
        assert sent is not None
        assert sorted(sent["allowed_tools"]) == allowed
        assert TOOLS_KEY not in sent
        assert sent["authorization"] == "t"


async def _echo(arguments: dict[str, Any]) -> Any:
    return arguments


names = st.one_of(part, st.builds(lambda a, b: f"{a}.{b}", part, part))


@given(chosen=st.lists(names, min_size=1, max_size=8, unique=True))
def test_a_wire_name_leads_back_to_one_tool_or_the_tools_do_not_load(chosen: list[str]) -> None:
    tools = [SchemaTool(_echo, name=n, description="d", parameters={"type": "object"})
             for n in chosen]  # fmt: skip
    wire = [n.replace(".", "__") for n in chosen]
    try:
        entries, back = wire_entries(tools)
    except ConfigError:
        assert len(set(wire)) < len(wire)  # two names meet on the wire
        return
    assert [e["name"] for e in entries] == wire
    assert all("." not in e["name"] for e in entries)
    assert {back[w]: w for w in wire} == dict(zip(chosen, wire, strict=True))
