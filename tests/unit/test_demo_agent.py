"""The demo copilot as shipped: its policy matches its tools, and its run shows the safety layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.audit import AuditLog, JsonlSink, verify_file
from agentkit.errors import PolicyLoadError
from agentkit.testing import FakeXAI, scripted_client
from examples.ops_copilot import __main__ as demo
from examples.ops_copilot.agent import OpsCopilot
from examples.ops_copilot.tickets import create_database


def test_the_demo_policy_matches_the_demo_tools(tmp_path: Path) -> None:
    db = create_database(tmp_path / "tickets.db")
    client = scripted_client()
    with AuditLog(JsonlSink(tmp_path / "audit.jsonl")) as audit:
        agent = demo.build_agent(client, audit, db)  # loading the policy checks every tool name
    names = {t.name for t in agent.tool_list}
    assert {"list_tickets", "close_ticket", "page_oncall", "run_python", "query_db"} <= names


def test_a_policy_naming_a_missing_tool_is_refused(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ntools:\n  launch_rockets: {side_effect: read, action: allow}\n")
    client = scripted_client(api_key="k" * 12)
    with pytest.raises(PolicyLoadError, match="launch_rockets"):
        OpsCopilot(policy=policy, client=client)


async def test_the_offline_demo_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One denied call, one confirmed and approved, citations, a verified audit log."""
    monkeypatch.setattr(demo, "DEMO_DIR", tmp_path)
    fake = FakeXAI(demo.SCRIPT)
    db = create_database(tmp_path / "tickets.db")
    client = scripted_client(fake)
    audit_path = tmp_path / "audit.jsonl"
    with AuditLog(JsonlSink(audit_path)) as audit:
        agent = demo.build_agent(client, audit, db)
        agent.tool_list = [t for t in agent.tool_list if t.name != "run_python"]  # no Docker here
        agent._runner = None
        result = await agent.run(demo.PROMPT)
    statuses = {s.tool: s.status for s in result.steps}
    assert result.status == "completed"
    assert statuses["page_oncall"] == "denied"
    assert statuses["close_ticket"] == "ok"
    closed = result.step(next(s.call_id for s in result.steps if s.tool == "close_ticket"))
    assert closed.decision is not None
    assert closed.decision.action == "confirm"
    assert closed.approver == demo.APPROVER_NAME
    assert statuses["web_search"] == "server"
    assert result.citations
    assert verify_file(audit_path).ok
    search = [t for t in fake.requests[0].json["tools"] if t["type"] == "web_search"]
    assert search == [
        {
            "type": "web_search",
            "allowed_domains": ["postgresql.org", "kubernetes.io", "grafana.com"],
        }
    ], "the policy's domains travel with the request, so the model cannot widen them"
