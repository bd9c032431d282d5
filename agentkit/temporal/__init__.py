"""Durable runs on Temporal (the ``[temporal]`` extra): runs that survive worker crashes
and deploys, approvals that wait for days.

A run is a workflow (`AgentRunWorkflow`); each turn of it - a model request and the calls
it asks for - is an activity on some worker (`AgentActivities`), continuing from the
sealed state the last one returned. Approvals are the workflow's ``decide`` updates,
checked against the policy's approver rules before they enter its history.

```python
client = await Client.connect("localhost:7233", interceptors=tracing_interceptors())
async with worker_for(MyAgent(), client):            # or: agentkit worker mod:MyAgent
    handle = await start_run(client, "close ticket 7", principal=Principal(user_id="ana"))
    end = await handle.result()
```
"""

from agentkit.temporal.activities import AgentActivities
from agentkit.temporal.messages import DecideApproval, ResolveEffect, RunEnd, RunStart
from agentkit.temporal.tracing import tracing_interceptors
from agentkit.temporal.worker import (
    DEFAULT_TASK_QUEUE,
    start_run,
    worker_for,
    workflow_id,
    workflow_runner,
)
from agentkit.temporal.workflow import AgentRunWorkflow

__all__ = [
    "DEFAULT_TASK_QUEUE",
    "AgentActivities",
    "AgentRunWorkflow",
    "DecideApproval",
    "ResolveEffect",
    "RunEnd",
    "RunStart",
    "start_run",
    "tracing_interceptors",
    "worker_for",
    "workflow_id",
    "workflow_runner",
]
