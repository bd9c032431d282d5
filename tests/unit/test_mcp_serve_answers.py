"""What an MCP client is told of each kind of call, and what the audit keeps of it: hostile
arguments, unknown tools and failing tools are answers (``isError``), recorded, never a
crash of the server; the served list says each tool's class as MCP hints."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest

from agentkit import Agent, Principal, Tool
from agentkit.approval_store import ApprovalStore
from agentkit.audit.testing import CapturedAudit
from agentkit.cli.mcp_command import NoModel
from agentkit.mcp_server import GuardedTools
from agentkit.policy import Policy
from agentkit.sealing import Sealer

POLICY = """
version: 1
tools:
  look: {action: allow}
  boom: {action: allow}
  send: {action: allow}
  wipe: {action: deny}
"""
ANA = Principal(user_id="ana")


def _served(folder: str, ran: list[str]) -> tuple[GuardedTools, CapturedAudit]:
    def look(ticket: int) -> str:
        ran.append("look")
        return f"ticket {ticket}"

    def boom() -> str:
        ran.append("boom")
        raise RuntimeError("the tool broke")

    def send(to: str) -> str:
        ran.append("send")
        return "sent"

    def wipe() -> str:
        ran.append("wipe")
        return "wiped"

    tools = [
        Tool(look, side_effect="read"),
        Tool(boom, side_effect="read"),
        Tool(send, side_effect="external_send"),
        Tool(wipe, side_effect="destructive"),
    ]
    audit = CapturedAudit()
    sealer = Sealer(bytes(32))
    store = ApprovalStore(Path(folder) / "approvals.db", sealer=sealer)
    agent = Agent(client=NoModel(), policy=Policy.from_yaml(POLICY), tools=tools,
                  approvals=store, audit=audit, sealer=sealer, principal=ANA)  # fmt: skip
    return GuardedTools(agent, store), audit


@pytest.mark.parametrize(
    ("name", "arguments", "status"),
    [
        ("look", {"ticket": float("nan")}, "invalid"),
        ("look", {"ticket": float("inf")}, "invalid"),
        ("look", {"ticket": "\ud800"}, "invalid"),
        ("look", {"ticket": 1, "extra": True}, "invalid"),
        ("look", {}, "invalid"),
        ("nothing", {}, "unknown_tool"),
        ("look.more", {}, "unknown_tool"),
        ("wipe", {}, "denied"),
        ("boom", {}, "failed"),
    ],
)
def test_every_refused_or_failed_call_is_an_error_answer_on_the_record(
    name: str, arguments: dict[str, object], status: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ran: list[str] = []
        served, audit = _served(folder, ran)
        answer = asyncio.run(served.call(ANA, name, arguments))
        assert answer.is_error
        assert answer.detail["status"] == status
        assert ran == (["boom"] if name == "boom" else [])
        started = audit.fields_of("run.started")
        assert [(s["called_by"], s["model"]) for s in started] == [("mcp", "none")]
        assert audit.fields_of("run.ended")[0]["status"] == "completed"
        assert "model.request" not in audit.events


def test_an_allowed_call_answers_its_output_and_names_its_run() -> None:
    with tempfile.TemporaryDirectory() as folder:
        ran: list[str] = []
        served, audit = _served(folder, ran)
        answer = asyncio.run(served.call(ANA, "look", {"ticket": 3}))
        assert (answer.is_error, answer.text, ran) == (False, "ticket 3", ["look"])
        assert answer.detail == {"run_id": audit.fields_of("run.started")[0]["run_id"],
                                 "status": "ok"}  # fmt: skip


def test_the_served_list_gives_each_class_as_hints() -> None:
    with tempfile.TemporaryDirectory() as folder:
        served, _ = _served(folder, [])
        hints = {t.name: (t.read_only, t.destructive, t.open_world) for t in served.listed()}
    assert hints == {
        "look": (True, False, False),
        "boom": (True, False, False),
        "send": (False, False, True),
        "wipe": (False, True, False),
    }
