"""xAI's remote MCP tool under the policy: each request offers only the tools the policy
allows outright for this principal (``allowed_tools``), with the deployment's URL and
credentials; the ``mcp_call`` items xAI sends back are recorded as server-side steps with
the policy's decision and an untrusted output, a call outside what was allowed included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit import Agent, Principal
from agentkit.audit import AuditLog, MemorySink
from agentkit.errors import ConfigError
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.scripted_client import scripted_client
from agentkit.tools.mcp.remote import TOOLS_KEY, xai_mcp

POLICY = """
version: 1
roles:
  ops: {}
  guest: {}
tools:
  jira.search: {action: allow, roles: [ops]}
  jira.create_issue: {action: confirm}
  jira.delete_issue: {action: deny}
"""
TOKEN = "deployment-token-for-tests"


class Desk(Agent):
    server_tools = [xai_mcp("jira", "https://mcp.example.com/jira", authorization=TOKEN,
                            tools={"search": "read", "create_issue": "write",
                                   "delete_issue": "destructive"})]  # fmt: skip


def _desk(
    tmp_path: Path, script: Script, roles: tuple[str, ...]
) -> tuple[Desk, FakeXAI, MemorySink]:
    (tmp_path / "p.yaml").write_text(POLICY)
    fake, sink = FakeXAI(script), MemorySink()
    desk = Desk(client=scripted_client(fake), policy=str(tmp_path / "p.yaml"),
                audit=AuditLog(sink), principal=Principal(user_id="ana", roles=roles))  # fmt: skip
    return desk, fake, sink


async def test_only_what_the_policy_allows_now_is_offered_and_every_call_is_recorded(
    tmp_path: Path,
) -> None:
    script = Script([
        Turn.remote_mcp("jira", "search", {"q": "disk"}, "PROJ-7: disk full", text="PROJ-7."),
    ])  # fmt: skip
    desk, fake, sink = _desk(tmp_path, script, ("ops",))
    run = await desk.run("what is open about the disk?")
    [entry] = [t for t in fake.requests[0].json["tools"] if t["type"] == "mcp"]
    assert entry["allowed_tools"] == ["search"]  # confirm and deny are left out
    assert entry["server_url"] == "https://mcp.example.com/jira"
    assert entry["authorization"] == TOKEN
    assert TOOLS_KEY not in entry
    [step] = run.steps
    assert (step.tool, step.status, step.untrusted) == ("jira.search", "server", True)
    assert step.decision is not None
    assert step.decision.action == "allow"
    assert step.output == "PROJ-7: disk full"
    records = [json.loads(line) for line in sink.lines]
    decided = [r for r in records if r["event"] == "call.decided"]
    assert decided[0]["fields"]["tool"] == "jira.search"
    assert TOKEN not in "".join(sink.lines)


async def test_a_call_outside_what_was_allowed_is_recorded_with_its_denial(tmp_path: Path) -> None:
    script = Script([Turn.remote_mcp("jira", "delete_issue", {"key": "PROJ-7"}, "deleted",
                                     text="Deleted.")])  # fmt: skip
    desk, _, _ = _desk(tmp_path, script, ("ops",))
    run = await desk.run("delete it")
    [step] = run.steps
    assert step.tool == "jira.delete_issue"
    assert step.decision is not None
    assert step.decision.action == "deny"


async def test_a_principal_allowed_none_of_its_tools_is_not_offered_the_server(
    tmp_path: Path,
) -> None:
    desk, fake, _ = _desk(tmp_path, Script([Turn.text("no")]), ("guest",))
    await desk.run("search jira")
    assert all(t["type"] != "mcp" for t in fake.requests[0].json.get("tools", []))


@pytest.mark.parametrize(("label", "url", "tools"), [
    ("bad label", "https://x", {"a": "read"}),
    ("jira", "ftp://x", {"a": "read"}),
    ("jira", "https://x", {"a.b": "read"}),
    ("jira", "https://x", {"a": "harmless"}),
])  # fmt: skip
def test_an_entry_that_cannot_be_named_in_a_policy_is_refused(
    label: str, url: str, tools: dict[str, str]
) -> None:
    with pytest.raises(ConfigError):
        xai_mcp(label, url, tools=tools)  # type: ignore[arg-type]
