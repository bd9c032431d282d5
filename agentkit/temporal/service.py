"""The service on Temporal (`agentkit serve --engine temporal`): the HTTP API of
`agentkit.serve.create_app`, with every run a durable workflow.

The service process runs no agent: ``POST /v1/runs`` starts a workflow that workers
(`agentkit worker`) drive; a run's events stream from its workflow (the ``events`` query:
a turn's events enter its history once the turn completed, so a turn run again after its
worker died shows once); an approval is the workflow's ``decide`` update, whose validator
applies the approver rules. Any number of service processes can serve one cluster: they
keep nothing of their own.

Scoping is the in-process service's: a run is its principal's (kept in the workflow's
memo), anyone else gets 404; an approval is shown to, and decided by, people of the run's
workspace whom its approvers rule lets decide it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from agentkit.audit.redact import Redactor
from agentkit.decision import Principal
from agentkit.serve.app import HEARTBEAT_SECONDS, MAX_BODY_BYTES, Decide, StartRun
from agentkit.serve.responses import BodyLimit, error_response, not_found, sse_frames
from agentkit.serve.tokens import Authenticator, Unauthenticated
from agentkit.telemetry.propagation import TraceContextMiddleware
from agentkit.temporal.messages import DecideApproval, ResolveEffect, RunEnd
from agentkit.temporal.tracing import tracing_interceptors
from agentkit.temporal.worker import DEFAULT_TASK_QUEUE, start_run, workflow_id
from agentkit.temporal.workflow import WORKFLOW_TYPE

POLL_SECONDS = 0.25
"""How often a subscriber's stream asks the workflow for new events."""
RUNS_QUERY = f'WorkflowType = "{WORKFLOW_TYPE}"'


class Resolve(BaseModel):
    """``POST /v1/runs/{id}/resolve``: the owner's word on a call whose worker died."""

    ran: bool
    """True: it took effect (the run ends there); False: the turn is run again."""


async def _caller(request: Request) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    if getattr(authenticator, "blocks", True):  # may wait on the network (a JWKS fetch)
        return await asyncio.to_thread(authenticator.authenticate, request.headers)
    return authenticator.authenticate(request.headers)


Caller = Annotated[Principal, Depends(_caller)]


class _Cluster:
    """The Temporal client, connected on first use (an app is built outside a loop)."""

    def __init__(self, client: Client | str, namespace: str) -> None:
        self._client = client if isinstance(client, Client) else None
        self._address = client if isinstance(client, str) else ""
        self._namespace = namespace
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        async with self._lock:
            if self._client is None:
                self._client = await Client.connect(
                    self._address, namespace=self._namespace, interceptors=tracing_interceptors()
                )
            return self._client


def create_durable_app(
    client: Client | str,
    *,
    authenticator: Authenticator,
    task_queue: str = DEFAULT_TASK_QUEUE,
    namespace: str = "default",
    title: str = "agentkit",
    heartbeat: float = HEARTBEAT_SECONDS,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_listed: int = 1000,
) -> FastAPI:
    """A FastAPI app starting durable runs on `task_queue` of the cluster `client` (a
    connected client, or its address, connected to `namespace` on first use).

    `max_listed` bounds how many open runs ``GET /v1/runs`` and ``GET /v1/approvals``
    look through (each is asked for its status).
    """
    cluster = _Cluster(client, namespace)
    app = FastAPI(title=f"agentkit: {title} (durable)", version="1", docs_url=None,
                  redoc_url=None, openapi_url=None)  # fmt: skip
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(TraceContextMiddleware)  # the run's workflow continues its trace

    app.state.authenticator = authenticator

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, exc: Unauthenticated) -> Any:
        return error_response(401, "Unauthenticated", str(exc), {"WWW-Authenticate": "Bearer"})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Any:
        try:
            await (await cluster.client()).service_client.check_health()
        except (RPCError, RuntimeError) as exc:
            return error_response(503, "NotReady", f"the Temporal cluster does not answer: {exc}")
        return {"status": "ready"}

    @app.get("/v1/openapi.json", include_in_schema=False)
    async def openapi(who: Caller) -> dict[str, Any]:
        return app.openapi()

    async def own(run_id: str, who: Principal) -> WorkflowHandle[Any, Any] | None:
        handle = (await cluster.client()).get_workflow_handle(workflow_id(run_id))
        try:
            memo = await (await handle.describe()).memo()
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                return None
            raise
        return handle if _is_owner(memo, who) else None

    @app.post("/v1/runs", status_code=202)
    async def start(body: StartRun, who: Caller) -> dict[str, Any]:
        run_id = uuid.uuid4().hex
        await start_run(await cluster.client(), body.prompt, principal=who, run_id=run_id,
                        task_queue=task_queue)  # fmt: skip
        return {"run_id": run_id, "events": f"/v1/runs/{run_id}/events"}

    @app.get("/v1/runs")
    async def list_runs(who: Caller) -> dict[str, Any]:
        found = []
        async for run_id, memo, status, handle in _runs(await cluster.client(), max_listed):
            if _is_owner(memo, who):
                found.append({"run_id": run_id, "status": await _status_of(handle, status)})
        return {"runs": found}

    @app.get("/v1/runs/{run_id}")
    async def get_run(run_id: str, who: Caller) -> Any:
        handle = await own(run_id, who)
        if handle is None:
            return not_found("run", run_id)
        events: list[dict[str, Any]] = await handle.query("events", 0)
        out: dict[str, Any] = {"run_id": run_id, "events": len(events)}
        last = events[-1] if events else {}
        if last.get("type") == "run.result":
            out["status"] = last["data"]["status"]
            if "result" in last:
                out["state"] = last["result"]
            if last["data"].get("error"):
                out["error"] = last["data"]["error"]
        else:
            out["status"] = (await handle.query("status"))["status"]
        return out

    @app.get("/v1/runs/{run_id}/events")
    async def run_events(
        run_id: str, who: Caller, last_event_id: Annotated[str | None, Header()] = None
    ) -> Any:
        handle = await own(run_id, who)
        if handle is None:
            return not_found("run", run_id)
        after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
        return StreamingResponse(
            sse_frames(_follow(handle, after, heartbeat)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.post("/v1/runs/{run_id}/resolve")
    async def resolve(run_id: str, body: Resolve, who: Caller) -> Any:
        handle = await own(run_id, who)
        if handle is None:
            return not_found("run", run_id)
        said = ResolveEffect(ran=body.ran, resolver=who.user_id)
        try:
            outcome = await handle.execute_update("resolve", said)
        except WorkflowUpdateFailedError as exc:
            return error_response(409, "NothingToResolve", _cause(exc))
        return {"run_id": run_id, "outcome": outcome}

    async def open_approvals(who: Principal) -> list[tuple[WorkflowHandle[Any, Any], Any]]:
        """(run, pending approval as JSON) of every open run whose approval `who` may see."""
        shown = []
        async for _, memo, status, handle in _runs(await cluster.client(), max_listed, "Running"):
            if status != WorkflowExecutionStatus.RUNNING:
                continue
            now = await _query(handle, "status")
            for pending in (now or {}).get("pending", []):
                if _may_see(memo, pending, who):
                    shown.append((handle, pending))
        return shown

    @app.get("/v1/approvals")
    async def list_approvals(who: Caller) -> dict[str, Any]:
        return {"approvals": [_shown(p) for _, p in await open_approvals(who)]}

    @app.get("/v1/approvals/{approval_id}")
    async def get_approval(approval_id: str, who: Caller) -> Any:
        for _, pending in await open_approvals(who):
            if pending["approval_id"] == approval_id:
                return _shown(pending)
        return not_found("approval", approval_id)

    @app.post("/v1/approvals/{approval_id}")
    async def decide(approval_id: str, body: Decide, who: Caller) -> Any:
        found = [(h, p) for h, p in await open_approvals(who) if p["approval_id"] == approval_id]
        if not found:
            return not_found("approval", approval_id)
        [(handle, pending)] = found
        decision = DecideApproval(
            approval_id=approval_id,
            approved=body.approved,
            approver=who.user_id,
            roles=list(who.roles),
            arguments_sha256=pending["arguments_sha256"],
            note=body.reason,
        )
        try:  # the workflow's validator applies the approver rules
            verdict = await handle.execute_update("decide", decision)
        except WorkflowUpdateFailedError as exc:
            return error_response(403, "ApprovalRefused", _cause(exc))
        return {
            "approval_id": approval_id,
            "run_id": pending["run_id"],
            "verdict": verdict,
            "run_resumed": verdict != "waiting",
        }

    return app


async def _runs(
    client: Client, limit: int, status: str | None = None
) -> AsyncIterator[tuple[str, Mapping[str, Any], WorkflowExecutionStatus | None, Any]]:
    query = RUNS_QUERY + (f' AND ExecutionStatus = "{status}"' if status else "")
    async for run in client.list_workflows(query, limit=limit):
        handle = client.get_workflow_handle(run.id, run_id=run.run_id, result_type=RunEnd)
        yield run.id.removeprefix("agentkit-run-"), await run.memo(), run.status, handle


async def _status_of(handle: WorkflowHandle[Any, Any], listed: Any) -> str:
    """The run's status: its workflow's own (the list may lag behind it), and within a
    workflow that is open, where the run is."""
    status = (await handle.describe()).status if listed is not None else None
    if status == WorkflowExecutionStatus.RUNNING:
        now = await _query(handle, "status")
        return str(now["status"]) if now else "running"
    if status == WorkflowExecutionStatus.COMPLETED:
        end: RunEnd = await handle.result()
        return end.status
    return status.name.lower() if status is not None else "unknown"


async def _query(handle: WorkflowHandle[Any, Any], name: str, *args: Any) -> Any:
    """A query's answer, or None when no worker answers in time (the run is still there;
    its status shows once a worker is back)."""
    try:
        return await asyncio.wait_for(handle.query(name, *args), 10)
    except (TimeoutError, RPCError):
        return None


async def _follow(
    handle: WorkflowHandle[Any, Any], after: int, heartbeat: float
) -> AsyncIterator[dict[str, Any] | None]:
    """The run's events after `after` as they enter its history, None each `heartbeat`
    idle seconds; ends after its last event."""
    sent, idle = after, 0.0
    while True:
        fresh: list[dict[str, Any]] = await _query(handle, "events", sent) or []
        for event in fresh:
            sent = int(event["seq"])
            yield event
            if event["type"] == "run.result" and event["data"]["status"] != "awaiting_approval":
                return
        idle = 0.0 if fresh else idle + POLL_SECONDS
        if idle >= heartbeat:
            idle = 0.0
            yield None
        if not fresh and (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
            return
        await asyncio.sleep(POLL_SECONDS)


def _is_owner(memo: Mapping[str, Any], who: Principal) -> bool:
    return memo.get("user_id") == who.user_id and memo.get("workspace") == who.workspace


def _may_see(memo: Mapping[str, Any], pending: Mapping[str, Any], who: Principal) -> bool:
    """The run's own principal, or someone of its workspace whose roles the approvers rule
    accepts (the rule itself is the workflow validator's to enforce)."""
    if _is_owner(memo, who):
        return True
    if memo.get("workspace") != who.workspace:
        return False
    roles = (pending.get("approvers") or {}).get("roles")
    return roles is None or bool(set(roles) & set(who.roles))


def _shown(pending: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("approval_id", "run_id", "tool", "arguments", "arguments_sha256", "rule",
            "reason", "approvers")  # fmt: skip
    shown = {key: pending.get(key) for key in keys}
    shown["verdict"] = None
    return Redactor().redact(shown, include_prompts=True)


def _cause(exc: WorkflowUpdateFailedError) -> str:
    cause = exc.cause
    return str(getattr(cause, "message", None) or cause or exc)
