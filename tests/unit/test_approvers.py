"""The terminal approver: shows the call, defaults to No."""

from __future__ import annotations

import io

import pytest

from agentkit.approvers import TerminalApprover
from agentkit.pipeline.confirm import pending_approval


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
