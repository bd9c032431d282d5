"""Property: whatever an MCP client calls, in any order, and whatever people decide between
its calls, a tool served by `agentkit mcp serve` runs exactly when the policy says: an
allowed call every time, a denied one never, a confirmed one once per approval, with the
approved arguments, on the first call after the approval; a declined one never."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import Agent, Principal, Tool
from agentkit.approval_store import ApprovalStore
from agentkit.cli.mcp_command import NoModel
from agentkit.mcp_server import GuardedTools
from agentkit.policy import Policy
from agentkit.sealing import Sealer

POLICY = """
version: 1
roles:
  ops: {}
  lead: {}
tools:
  look: {action: allow}
  wipe: {action: deny}
  close: {action: confirm}
approvers:
  - id: leads
    tools: [close]
    roles: [lead]
"""
ANA = Principal(user_id="ana", roles=("ops",))
BO = Principal(user_id="bo", roles=("ops",))
Action = tuple[str, Principal, str, int, bool]  # (kind, caller, tool, ticket, approve)

people = st.sampled_from([ANA, BO])
calls = st.tuples(st.just("call"), people, st.sampled_from(["look", "wipe", "close"]),
                  st.integers(0, 2), st.just(False))  # fmt: skip
decisions = st.tuples(st.just("decide"), people, st.just("close"), st.integers(0, 2),
                      st.booleans())  # fmt: skip


def _served(folder: Path, ran: list[tuple[str, int]]) -> GuardedTools:
    def tool(name: str, effect: str) -> Tool:
        def body(ticket: int) -> str:
            ran.append((name, ticket))
            return f"{name} {ticket}"

        return Tool(body, name=name, description=f"{name} a ticket.", side_effect=effect)  # type: ignore[arg-type]

    sealer = Sealer(bytes(32))
    store = ApprovalStore(folder / "approvals.db", sealer=sealer)
    agent = Agent(client=NoModel(), policy=Policy.from_yaml(POLICY), principal=ANA,
                  tools=[tool("look", "read"), tool("wipe", "destructive"),
                         tool("close", "destructive")],
                  approvals=store, audit=None, sealer=sealer)  # fmt: skip
    return GuardedTools(agent, store)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(calls, decisions), max_size=14))
def test_a_served_tool_runs_exactly_when_the_policy_and_its_people_say(
    actions: list[Action],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ran: list[tuple[str, int]] = []
        served = _served(Path(folder), ran)
        expected = asyncio.run(_play(served, actions))
        assert ran == expected


async def _play(served: GuardedTools, actions: list[Action]) -> list[tuple[str, int]]:
    """Make the calls and decisions; return the runs the policy lets happen."""
    expected: list[tuple[str, int]] = []
    waiting: dict[tuple[str, int], tuple[str, str]] = {}  # (caller, ticket) -> (id, verdict)
    for kind, who, name, ticket, approve in actions:
        key = (who.user_id, ticket)
        if kind == "decide":
            if key in waiting and waiting[key][1] == "pending":
                row = served.store.decide(waiting[key][0], approved=approve, approver="lee",
                                          roles=["lead"])  # fmt: skip
                waiting[key] = (waiting[key][0], row.verdict)
            continue
        answer = await served.call(who, name, {"ticket": ticket})
        status = answer.detail["status"]
        if name == "look":
            assert (status, answer.is_error) == ("ok", False)
            expected.append((name, ticket))
        elif name == "wipe":
            assert status == "denied"
            assert answer.is_error
        elif key not in waiting:
            assert status == "awaiting_approval"
            assert answer.is_error
            waiting[key] = (answer.detail["approval_id"], "pending")
        else:
            approval, verdict = waiting[key]
            if verdict == "pending":
                assert answer.detail.get("approval_id") == approval  # the same request
                continue
            del waiting[key]
            if verdict == "approved":
                assert (status, answer.text) == ("ok", f"close {ticket}")
                expected.append((name, ticket))
            else:
                assert status == "declined"
                assert answer.is_error
    return expected
