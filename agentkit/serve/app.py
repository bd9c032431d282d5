"""The HTTP API: runs, their events, approvals, health; every request has a principal.

Scoping: a run belongs to the principal (user and workspace) that started it, and only
that principal can read it or its events; anyone else gets 404, as for a run that does not
exist. An approval is shown to, and decided by, people of the run's workspace whom the
policy's approvers rule lets decide it (the run's own principal sees its approvals too);
the rule itself is enforced by `agentkit.who_approves` inside `ApprovalStore.decide`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from agentkit.decision import Principal
from agentkit.errors import AgentkitError, ApprovalRefused, RunStateError
from agentkit.serve.hub import HostedRun, RunHub
from agentkit.serve.page_routes import add_page
from agentkit.serve.responses import BodyLimit, error_response, not_found, sse_frames
from agentkit.serve.run_store import RunStore, StoredRun, default_run_store_path, open_run_store
from agentkit.serve.tokens import Authenticator, Unauthenticated
from agentkit.serve.user_limits import LimitRefused, UserCounters, UserLimits
from agentkit.serve.visibility import find_approval as _find
from agentkit.serve.visibility import visible_pending as _visible
from agentkit.state import PendingApproval, RunResult
from agentkit.telemetry.propagation import TraceContextMiddleware

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.approval_store import ApprovalStore, StoredApproval

MAX_BODY_BYTES = 64 * 1024
HEARTBEAT_SECONDS = 15.0


class StartRun(BaseModel):
    """``POST /v1/runs``: what the caller asks the agent."""

    prompt: str = Field(min_length=1, max_length=32_000)


class ContinueRun(BaseModel):
    """``POST /v1/runs/{id}/continue``: take up a run its worker left interrupted."""

    effects_checked: bool = False
    """The caller checked what the call the run was making when its worker died did
    (required when there was one: continuing asks the model again, which may repeat it)."""


class Decide(BaseModel):
    """``POST /v1/approvals/{id}``: the caller's verdict."""

    approved: bool
    reason: str = Field(default="", max_length=2_000)


async def _caller(request: Request) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    if getattr(authenticator, "blocks", True):  # may wait on the network (a JWKS fetch)
        who = await asyncio.to_thread(authenticator.authenticate, request.headers)
    else:
        who = authenticator.authenticate(request.headers)
    request.app.state.hub.keep_leases()  # mounted apps get no lifespan: start on first use
    return who


Caller = Annotated[Principal, Depends(_caller)]


def create_app(
    agent: Agent,
    *,
    store: ApprovalStore,
    authenticator: Authenticator,
    max_body_bytes: int = MAX_BODY_BYTES,
    heartbeat: float = HEARTBEAT_SECONDS,
    limits: UserLimits | None = None,
    runs: RunStore | None = None,
) -> FastAPI:
    """A FastAPI app serving `agent`; mount it in your own app, or `agentkit serve` it.

    Paused runs go to `store` (decisions recorded there continue them); `authenticator`
    turns each request's headers into a `Principal`; `limits` bound what
    each user runs (default `UserLimits()`); `runs` keeps runs, events and checkpoints for
    every worker of the deployment (`open_run_store`; default: the approvals store's
    PostgreSQL database, or SQLite ``service.db`` beside its file).
    """
    run_store = runs or open_run_store(default_run_store_path(store.location))
    hub = RunHub(store=run_store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.keep_leases()
        yield
        await hub.close()

    # the OpenAPI description is served at /v1/openapi.json to callers with a principal
    app = FastAPI(
        title=f"agentkit: {type(agent).__name__}",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.authenticator = authenticator
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(TraceContextMiddleware)  # a run continues its caller's trace
    counters = UserCounters(limits or UserLimits())

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, exc: Unauthenticated) -> Any:
        return error_response(401, "Unauthenticated", str(exc), {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(LimitRefused)
    async def limited(request: Request, exc: LimitRefused) -> Any:
        return error_response(
            429, "LimitExceeded", exc.message, {"Retry-After": str(exc.retry_after)}
        )

    @app.exception_handler(ApprovalRefused)
    async def refused(request: Request, exc: ApprovalRefused) -> Any:
        return error_response(403, "ApprovalRefused", str(exc))

    @app.exception_handler(AgentkitError)
    async def agentkit_error(request: Request, exc: AgentkitError) -> Any:
        return error_response(400, type(exc).__name__, str(exc))

    @app.get("/v1/openapi.json", include_in_schema=False)
    async def openapi(who: Caller) -> dict[str, Any]:
        return app.openapi()

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        await asyncio.to_thread(store.approvals, "pending")  # the store answers
        return {"status": "ready"}

    def ended(who: Principal, cost_before: float = 0.0) -> Callable[[RunResult], Awaitable[None]]:

        async def on_end(state: RunResult) -> None:
            nonlocal cost_before
            counters.finished(who, state.totals.cost_usd - cost_before)
            cost_before = state.totals.cost_usd
            if state.status == "awaiting_approval":
                await asyncio.to_thread(store.save, state)

        return on_end

    @app.post("/v1/runs", status_code=202)
    async def start_run(body: StartRun, who: Caller) -> dict[str, Any]:
        counters.admit(who)  # before any work: a refused run costs nothing
        run_id = uuid.uuid4().hex
        prompt = body.prompt
        checkpoints = hub.checkpoints
        hub.launch(
            run_id,
            who,
            lambda sink: agent.run(
                prompt, principal=who, run_id=run_id, events=sink, checkpoints=checkpoints
            ),
            ended(who),
            prompt=prompt,
        )
        await run_store.flush()  # the id it answers with is known to every worker
        return {"run_id": run_id, "events": f"/v1/runs/{run_id}/events"}

    async def paused_state(run_id: str) -> RunResult | None:
        """The run as it paused, when the approvals store has it."""
        try:
            return await asyncio.to_thread(store.load, run_id)
        except RunStateError:
            return None

    async def carry_on(stored: StoredRun, who: Principal) -> None:
        """Continue a run its worker left: from its checkpoint; else, when it was resuming
        after its approvals, from its paused state with their verdicts; else (it stopped
        before its first turn) from its prompt."""
        run_id, checkpoints = stored.run_id, hub.checkpoints
        drive: Callable[[Any], Awaitable[RunResult]]
        paused = None if stored.checkpoint is not None else await paused_state(run_id)
        if stored.checkpoint is not None:
            state = RunResult.from_json(stored.checkpoint)
            cost = state.totals.cost_usd
            drive = lambda sink: agent.continue_from(  # noqa: E731
                state, events=sink, checkpoints=checkpoints
            )
        elif paused is not None:
            decisions = await asyncio.to_thread(store.decisions, run_id)
            cost, owner = paused.totals.cost_usd, paused.principal
            drive = lambda sink: agent.resume(  # noqa: E731
                paused, decisions, principal=owner, events=sink, checkpoints=checkpoints
            )
        else:
            prompt, cost = stored.prompt or "", 0.0
            drive = lambda sink: agent.run(  # noqa: E731
                prompt, principal=who, run_id=run_id, events=sink, checkpoints=checkpoints
            )
        counters.track(who)
        hub.launch(run_id, who, drive, ended(who, cost))

    async def take_over(stored: StoredRun) -> None:
        """A run whose worker died, now leased here: continued when that repeats nothing
        but a model request, else left for its owner to continue."""
        await hub.adopt(stored.run_id)
        hosted = hub.get(stored.run_id)
        assert hosted is not None
        if stored.effect is None and stored.checkpoint is not None:
            await carry_on(stored, hosted.principal)
        elif stored.effect is not None:
            await hub.interrupt(hosted, "its worker stopped while a call ran", stored.effect)
        elif await paused_state(stored.run_id) is not None:
            await hub.interrupt(hosted, "its worker stopped as the run resumed", None)
        else:
            await hub.interrupt(hosted, "its worker stopped before its first turn", None)

    hub.on_orphan = take_over

    async def others_usage() -> None:
        counters.elsewhere = await run_store.usage_elsewhere()

    hub.on_tick = others_usage

    @app.post("/v1/runs/{run_id}/continue", status_code=202)
    async def continue_run(run_id: str, body: ContinueRun, who: Caller) -> Any:
        hosted = await _own(hub, run_id, who)
        if hosted is None:
            return not_found("run", run_id)
        stored = await run_store.load(run_id, events=False)
        if stored is None or stored.status != "interrupted":
            return error_response(409, "NotInterrupted", f"run {run_id} is {hosted.status}")
        if stored.effect is not None and not body.effects_checked:
            return error_response(
                409,
                "EffectUnknown",
                f"run {run_id} stopped while call {stored.effect} ran: check what it did, "
                "then continue with effects_checked (the model is asked again and may "
                "repeat it; the policy decides it again)",
            )
        counters.admit(who)  # before the claim: a refused continue leaves the run as it was
        if not await run_store.claim(run_id, stored.principal):
            counters.finished(who, 0.0)
            return error_response(409, "AlreadyRunning", f"run {run_id} was continued already")
        await hub.adopt(run_id)
        await carry_on(stored, who)
        return {"run_id": run_id, "events": f"/v1/runs/{run_id}/events"}

    @app.get("/v1/runs")
    async def list_runs(who: Caller) -> dict[str, Any]:
        runs = await hub.statuses_of(who)
        return {"runs": [{"run_id": r, "status": status} for r, status in runs.items()]}

    @app.get("/v1/runs/{run_id}")
    async def get_run(run_id: str, who: Caller) -> Any:
        hosted = await _own(hub, run_id, who)
        if hosted is None:
            return not_found("run", run_id)
        return _summary(hosted, full=True)

    @app.get("/v1/runs/{run_id}/events")
    async def run_events(
        run_id: str,
        who: Caller,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> Any:
        hosted = await _own(hub, run_id, who)
        if hosted is None:
            return not_found("run", run_id)
        after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
        return StreamingResponse(
            sse_frames(hub.follow(hosted, after, heartbeat)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/v1/runs/{run_id}/ag-ui")
    async def run_ag_ui(
        run_id: str,
        who: Caller,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> Any:
        """The run's events as AG-UI events (``ag-ui-protocol``); decide its interrupts
        through ``POST /v1/approvals/{id}``."""
        from agentkit.serve.ag_ui import AGUITranslator

        hosted = await _own(hub, run_id, who)
        if hosted is None:
            return not_found("run", run_id)
        after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
        translator = AGUITranslator()
        for earlier in hosted.events[:after]:  # what the client saw shapes what follows
            list(translator.translate(earlier))

        async def frames() -> AsyncIterator[bytes]:
            async for record in hub.follow(hosted, after, heartbeat):
                yield b": ping\n\n" if record is None else translator.encode(record).encode()

        return StreamingResponse(
            frames(),
            media_type=translator.content_type,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/v1/approvals")
    async def list_approvals(who: Caller) -> dict[str, Any]:
        rows = await asyncio.to_thread(store.approvals, "pending")
        shown = [await _visible(store, row, who) for row in rows]
        return {"approvals": [_approval(row, p) for row, p in zip(rows, shown, strict=True) if p]}

    @app.get("/v1/approvals/{approval_id}")
    async def get_approval(approval_id: str, who: Caller) -> Any:
        row = await _find(store, approval_id)
        pending = await _visible(store, row, who) if row is not None else None
        if row is None or pending is None:
            return not_found("approval", approval_id)
        return _approval(row, pending)

    async def decide_as(who: Principal, approval_id: str, approved: bool) -> dict[str, Any] | None:
        """Record `who`'s verdict and continue the run once nothing of it waits; None when
        `who` may not see the approval. The API and the page both decide through this."""
        row = await _find(store, approval_id)
        pending = await _visible(store, row, who) if row is not None else None
        if row is None or pending is None:
            return None
        audit = agent.runner.audit
        decided = await asyncio.to_thread(
            lambda: store.decide(
                approval_id, approved=approved, approver=who.user_id, roles=who.roles, audit=audit
            )
        )
        run_id = decided.pending.run_id
        open_now = await asyncio.to_thread(store.approvals, "pending")
        resumed = False
        state = None
        if not any(a.pending.run_id == run_id for a in open_now):
            state = await asyncio.to_thread(store.load, run_id)
        # the claim: two last decisions at once continue the run once
        if state is not None and await run_store.claim(run_id, state.principal):
            decisions = await asyncio.to_thread(store.decisions, run_id)
            owner = state.principal
            await hub.adopt(run_id)
            counters.track(owner)  # a decided run always continues; it counts as running
            hub.launch(
                run_id,
                owner,
                lambda sink: agent.resume(
                    state,
                    decisions,
                    principal=owner,
                    events=sink,
                    checkpoints=hub.checkpoints,
                ),
                ended(owner, state.totals.cost_usd),
            )
            resumed = True
        return {
            "approval_id": approval_id,
            "run_id": run_id,
            "verdict": decided.verdict,
            "signers": [s.user_id for s in decided.signers] or [who.user_id],
            "run_resumed": resumed,
        }

    @app.post("/v1/approvals/{approval_id}")
    async def decide(approval_id: str, body: Decide, who: Caller) -> Any:
        outcome = await decide_as(who, approval_id, body.approved)
        return outcome if outcome is not None else not_found("approval", approval_id)

    add_page(app, hub, store, authenticator, decide_as)
    return app


async def _own(hub: RunHub, run_id: str, who: Principal) -> HostedRun | None:
    hosted = await hub.find(run_id)
    if hosted is None:
        return None
    mine = hosted.principal.user_id == who.user_id and hosted.principal.workspace == who.workspace
    return hosted if mine else None


def _approval(row: StoredApproval, pending: PendingApproval) -> dict[str, Any]:
    from agentkit.audit.redact import Redactor

    shown = {
        "approval_id": pending.approval_id,
        "run_id": pending.run_id,
        "agent": row.agent,
        "tool": pending.tool,
        "arguments": pending.arguments,
        "arguments_sha256": pending.arguments_sha256,
        "rule": pending.rule,
        "reason": pending.reason,
        "verdict": row.verdict,
        "approvers": pending.approvers.model_dump(mode="json"),
        "signers": [s.user_id for s in row.signers],
    }
    return Redactor().redact(shown, include_prompts=True)


def _summary(hosted: HostedRun, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "run_id": hosted.run_id,
        "status": hosted.status,
        "events": len(hosted.events),
    }
    if full and hosted.view is not None:
        out["state"] = hosted.view  # redacted like the audit (the run.result event's)
    return out
