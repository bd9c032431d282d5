"""An MCP tool's side-effect class: the policy's when it names one (either way: a hint can
never outvote the policy), else a default from the server's hints that errs like the
protocol does (no hints: destructive); dotted policy names go on the wire as ``__``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcp.types import ToolAnnotations

from agentkit import Agent, Principal
from agentkit.errors import ConfigError, PolicyLoadError, ToolArgumentsInvalid
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.scripted_client import scripted_client
from agentkit.tool import SchemaTool, Tool, wire_entries
from agentkit.tools.mcp import class_from_hints

hint = st.sampled_from([None, True, False])


@given(read_only=hint, destructive=hint, open_world=hint)
def test_only_a_read_only_hint_makes_a_read_and_an_unsaid_destructive_hint_is_destructive(
    read_only: bool | None, destructive: bool | None, open_world: bool | None
) -> None:
    found = class_from_hints(ToolAnnotations(read_only_hint=read_only,
                             destructive_hint=destructive, open_world_hint=open_world))  # fmt: skip
    if read_only is True:
        assert found == "read"
    elif destructive is not False:
        assert found == "destructive"
    else:
        assert found in ("external_send", "write")
    assert class_from_hints(None) == "destructive"


async def _echo(arguments: dict[str, Any]) -> Any:
    return arguments


def _remote(side_effect: str = "destructive") -> SchemaTool:
    schema = {"type": "object", "properties": {"ticket": {"type": "integer"}},
              "required": ["ticket"]}  # fmt: skip
    return SchemaTool(_echo, name="tickets.close", description="Close a ticket.",
                      parameters=schema, side_effect=side_effect,  # type: ignore[arg-type]
                      class_from_hints=True)  # fmt: skip


@pytest.mark.parametrize("declared", [None, "write", "read", "financial"])
def test_the_policy_s_class_replaces_the_hints_default(
    tmp_path: Path, declared: str | None
) -> None:
    line = f"{{action: confirm, side_effect: {declared}}}" if declared else "{action: confirm}"
    (tmp_path / "p.yaml").write_text(
        f"version: 1\nroles:\n  ops: {{}}\ntools:\n  tickets.close: {line}\n"
    )
    agent = Agent(client=scripted_client(FakeXAI()), policy=str(tmp_path / "p.yaml"),
                  tools=[_remote()], audit=None)  # fmt: skip
    [tool] = agent.runner.tools.values()
    assert tool.side_effect == (declared or "destructive")
    assert tool.info.side_effect == tool.side_effect


def test_a_tool_of_our_own_still_may_not_be_reclassed_by_the_policy(tmp_path: Path) -> None:
    async def close(ticket: int) -> str:
        """Close a ticket."""
        return "closed"

    (tmp_path / "p.yaml").write_text(
        "version: 1\nroles:\n  ops: {}\ntools:\n  close: {action: allow, side_effect: read}\n"
    )
    with pytest.raises(PolicyLoadError, match="declares close as read"):
        Agent(client=scripted_client(FakeXAI()), policy=str(tmp_path / "p.yaml"),
              tools=[Tool(close, side_effect="destructive")], audit=None)  # fmt: skip


async def test_a_dotted_tool_is_called_by_its_wire_name_and_decided_by_its_own(
    tmp_path: Path,
) -> None:
    (tmp_path / "p.yaml").write_text(
        "version: 1\nroles:\n  ops: {}\ntools:\n  tickets.close: {action: deny}\n"
    )
    fake = FakeXAI(Script([Turn.call("tickets__close", {"ticket": 3}), Turn.text("no")]))
    agent = Agent(client=scripted_client(fake), policy=str(tmp_path / "p.yaml"),
                  tools=[_remote("write")], audit=None,
                  principal=Principal(user_id="ana", roles=("ops",)))  # fmt: skip
    run = await agent.run("close 3")
    [step] = run.steps
    assert (step.tool, step.status) == ("tickets.close", "denied")
    assert fake.requests[0].json["tools"][0]["name"] == "tickets__close"
    assert fake.requests[0].json["tools"][0]["strict"] is False  # its schema is not strict


def test_the_schema_decides_the_arguments_and_names_may_not_meet_on_the_wire() -> None:
    tool = _remote()
    assert tool.validate({"ticket": 3}) == {"ticket": 3}
    with pytest.raises(ToolArgumentsInvalid, match="ticket"):
        tool.validate({"ticket": "three"})
    with pytest.raises(ConfigError, match="on the wire"):
        wire_entries([tool, SchemaTool(_echo, name="tickets__close", description="x",
                                       parameters={"type": "object"})])  # fmt: skip
    with pytest.raises(ConfigError, match="not JSON Schema"):
        SchemaTool(_echo, name="x.y", description="x", parameters={"type": 7})
