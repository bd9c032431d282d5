"""`agentkit approvals deny|approve --resume` and `agentkit resume`, in one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit import Agent, ApprovalStore, tool
from agentkit.cli import main
from agentkit.testing import Script, Turn

CLOSED: list[int] = []


class Ops(Agent):
    model = "grok-4-1-fast-non-reasoning"
    offline_script = Script(
        [
            Turn.calls([("close", {"ticket": 1}), ("close", {"ticket": 2})]),
            Turn.text("done"),
        ]
    )

    @tool(destructive=True)
    async def close(self, ticket: int) -> str:
        """Close a ticket."""
        CLOSED.append(ticket)
        return f"closed {ticket}"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    CLOSED.clear()
    return tmp_path / "approvals.db"


def pending_ids(store: Path) -> list[str]:
    return [a.pending.approval_id for a in ApprovalStore(store).approvals("pending")]


def start(store: Path) -> None:
    argv = ["run", "tests.unit.test_cli_resume:Ops", "close both", "--store", str(store)]
    assert main([*argv, "--offline", "--quiet"]) == 10
    assert len(pending_ids(store)) == 2
    assert CLOSED == []


def test_approve_resume_waits_for_every_call_of_the_run(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start(store)
    first, second = pending_ids(store)
    decide = ["approvals", "--store", str(store)]
    assert main([*decide, "approve", first, "--as", "ana", "--resume"]) == 10
    assert "still waits for: " + second in capsys.readouterr().out
    assert CLOSED == []  # an approved call waits with the undecided one
    assert main([*decide, "deny", second, "--as", "ana", "--resume", "--quiet"]) == 11
    out = capsys.readouterr().out
    assert CLOSED == [1]  # approved ran once, declined never
    assert "status completed" in out


def test_resume_before_any_decision_stays_paused(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start(store)
    assert main(["resume", "--store", str(store), "--quiet", _run_id(store)]) == 10
    assert CLOSED == []
    assert len(pending_ids(store)) == 2


def test_show_prints_the_exact_arguments(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start(store)
    capsys.readouterr()
    assert main(["approvals", "--store", str(store), "show", pending_ids(store)[1]]) == 0
    out = capsys.readouterr().out
    assert '"ticket": 2' in out
    assert "tool      close" in out
    assert "destructive" in out


def test_an_unknown_approval_is_a_usage_error(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["approvals", "--store", str(store), "show", "apr_nope"]) == 2
    assert "no approval 'apr_nope'" in capsys.readouterr().err


def _run_id(store: Path) -> str:
    return ApprovalStore(store).approvals("pending")[0].pending.run_id
