"""Run a worker for an agent class, and start durable runs on it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from agentkit.decision import Principal
from agentkit.temporal.activities import AgentActivities
from agentkit.temporal.messages import RunEnd, RunStart
from agentkit.temporal.workflow import AgentRunWorkflow

if TYPE_CHECKING:
    from agentkit.agent import Agent

DEFAULT_TASK_QUEUE = "agentkit"


def worker_for(agent: Agent, client: Client, task_queue: str = DEFAULT_TASK_QUEUE) -> Worker:
    """A Temporal worker running `agent`'s durable runs (`await worker.run()`)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[AgentRunWorkflow],
        activities=AgentActivities(agent, client).all(),
        workflow_runner=workflow_runner(),
    )


def workflow_runner() -> SandboxedWorkflowRunner:
    """Temporal's sandbox, with agentkit passed through: the sandbox re-imports a
    workflow's modules for every workflow it starts, and re-importing the package took
    ten times as long as the workflow's first task. The workflow module itself touches
    nothing non-deterministic (its imports are already passed through); use the same
    runner for a `temporalio.worker.Replayer`. OpenTelemetry is passed through too, so a
    tracing interceptor's context is the one the activities see."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules("agentkit", "opentelemetry")
    return SandboxedWorkflowRunner(restrictions=restrictions)


async def start_run(
    client: Client,
    prompt: str,
    *,
    principal: Principal | None = None,
    run_id: str | None = None,
    task_queue: str = DEFAULT_TASK_QUEUE,
    turn_timeout: float = 600.0,
    heartbeat_timeout: float = 10.0,
) -> WorkflowHandle[AgentRunWorkflow, RunEnd]:
    """Start a durable run; its workflow id is the run id (``agentkit-run-<id>``)."""
    run_id = run_id or uuid.uuid4().hex
    start = RunStart(
        run_id=run_id,
        prompt=prompt,
        principal=(principal or Principal()).model_dump(mode="json"),
        turn_timeout=turn_timeout,
        heartbeat_timeout=heartbeat_timeout,
    )
    owner = principal or Principal()
    return await client.start_workflow(
        AgentRunWorkflow.run,
        start,
        id=workflow_id(run_id),
        task_queue=task_queue,
        memo={"user_id": owner.user_id, "workspace": owner.workspace},  # who may read it
    )


def workflow_id(run_id: str) -> str:
    return f"agentkit-run-{run_id}"
