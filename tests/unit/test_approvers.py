"""The terminal approver: shows the call, defaults to No."""

from __future__ import annotations

import io

import pytest

from agentkit.approvers import CallbackApprover, TerminalApprover
from agentkit.pipeline.confirm import pending_approval
from agentkit.state import PendingApproval


@pytest.mark.parametrize(
    ("answer", "approved"),
    [("y\n", True), ("YES\n", True), ("\n", False), ("n\n", False), ("", False)],
)
async def test_terminal_approver(answer: str, approved: bool) -> None:
    shown = io.StringIO()
    approver = TerminalApprover(stream_in=io.StringIO(answer), stream_out=shown)
    request = pending_approval(
        "run1", "call1", "close_ticket", {"ticket_id": 7}, reason="destructive", rule="r1", now=0.0
    )
    assert await approver(request) is approved
    text = shown.getvalue()
    assert 'close_ticket({"ticket_id":7})' in text
    assert "destructive [r1]" in text
    assert "[y/N]" in text


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_callback_approver_takes_sync_and_async_callbacks(asynchronous: bool) -> None:
    def decide(request: PendingApproval) -> bool:
        return request.arguments["ticket_id"] == 7

    async def decide_later(request: PendingApproval) -> bool:
        return decide(request)

    approver = CallbackApprover(decide_later if asynchronous else decide, name="desk")
    asked = [
        pending_approval("run1", "c", "close", {"ticket_id": n}, reason="", rule="", now=0.0)
        for n in (7, 8)
    ]
    assert [await approver(request) for request in asked] == [True, False]
    assert approver.name == "desk"
