"""The durable run's activities: each advances the run by one turn on some worker.

An activity continues the run from the state the workflow hands it and stops at the next
checkpoint (`agentkit.pipeline.checkpoints`), returning that state: a model request and
the calls it asked for are one activity. Before a call that changes something runs, the
activity tells the workflow (a signal, kept in its history once sent), so the workflow
knows, if the worker dies, that it must not simply run the turn again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from agentkit.decision import Principal
from agentkit.errors import AgentkitError
from agentkit.events import RunEvent
from agentkit.pipeline.confirm import ApprovalDecision
from agentkit.state import RunResult, Step
from agentkit.temporal.messages import EffectStarted, TurnInput, TurnOutcome
from agentkit.who_approves import Signer

if TYPE_CHECKING:
    from agentkit.agent import Agent

START, NEXT, RESUME = "agentkit.start_turn", "agentkit.next_turn", "agentkit.resume_turn"


class _Suspend(Exception):  # control flow, not an error
    """Raised at the next checkpoint to hand the run back to the workflow."""

    def __init__(self, state: str) -> None:
        super().__init__("suspended at a checkpoint")
        self.state = state


class _OneTurn:
    """Checkpoints of one activity: let `allowed` checkpoints pass, stop at the next."""

    def __init__(self, allowed: int, client: Client) -> None:
        self._allowed = allowed
        self._client = client

    async def turn_starting(self, run_id: str, state: str) -> None:
        if self._allowed <= 0:
            raise _Suspend(state)
        self._allowed -= 1

    async def effect_starting(self, run: RunResult, step: Step) -> None:
        info = activity.info()
        handle = self._client.get_workflow_handle(
            info.workflow_id or "", run_id=info.workflow_run_id
        )
        await handle.signal("effect_started", EffectStarted(step.call_id, info.attempt))


class _WorkflowLedger:
    """Single use of approvals, kept by the workflow (its history is durable)."""

    durable = True

    def __init__(self, consumed: list[str]) -> None:
        self._used = set(consumed)

    def consume(self, approval_id: str) -> bool:
        if approval_id in self._used:
            return False
        self._used.add(approval_id)
        return True

    def was_used(self, approval_id: str) -> bool:
        return approval_id in self._used


class AgentActivities:
    """The activities of one agent class, for a worker (`agentkit.temporal.worker`)."""

    def __init__(self, agent: Agent, client: Client, heartbeat_every: float = 1.0) -> None:
        self.agent = agent
        self.client = client
        self.heartbeat_every = heartbeat_every

    @activity.defn(name=START)
    async def start_turn(self, work: TurnInput) -> TurnOutcome:
        principal = Principal.model_validate(work.principal or {})
        return await self._advance(
            lambda cp, sink: self.agent.run(
                work.prompt or "",
                principal=principal,
                run_id=work.run_id,
                events=sink,
                checkpoints=cp,
            ),
            allowed=1,  # the checkpoint before the first turn passes; the next one stops
        )

    @activity.defn(name=NEXT)
    async def next_turn(self, work: TurnInput) -> TurnOutcome:
        state = RunResult.from_json(work.state or "")
        return await self._advance(
            lambda cp, sink: self.agent.continue_from(state, events=sink, checkpoints=cp),
            allowed=0,
        )

    @activity.defn(name=RESUME)
    async def resume_turn(self, work: TurnInput) -> TurnOutcome:
        state = RunResult.from_json(work.state or "")
        ledger = _WorkflowLedger(work.consumed)
        by_id = {p.approval_id: p for p in state.pending}
        decisions = [
            dataclasses.replace(
                ApprovalDecision._for(by_id[d.approval_id], d.approved, d.approver, d.note),
                ledger=ledger,
                signers=tuple(Signer.model_validate(s) for s in d.signers),
            )
            for d in work.decisions
            if d.approval_id in by_id
        ]
        return await self._advance(
            lambda cp, sink: self.agent.resume(
                state, decisions, principal=state.principal, events=sink, checkpoints=cp
            ),
            allowed=0,  # the approved calls run, then the run goes back to the workflow
        )

    async def _advance(self, drive: Any, *, allowed: int) -> TurnOutcome:
        # the turn's events travel with its outcome: they enter the workflow's history
        # only if the turn completes, so a turn run again after its worker died shows once
        events: list[dict[str, Any]] = []
        beating = asyncio.get_running_loop().create_task(self._heartbeat())
        try:
            run: RunResult = await drive(
                _OneTurn(allowed, self.client), lambda e: events.append(e.to_dict())
            )
        except _Suspend as suspended:
            return TurnOutcome("running", suspended.state, events=events)
        except AgentkitError as exc:
            failed: RunResult | None = exc.run
            if failed is None:  # refused before the run began (a bad state, a replay)
                raise ApplicationError(
                    str(exc), type=type(exc).__name__, non_retryable=True
                ) from exc
            run = failed
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        pending = [p.model_dump(mode="json") for p in run.pending]
        events.append(RunEvent.result_of(run).to_dict())
        return TurnOutcome(run.status, run.to_json(), pending, events)

    async def _heartbeat(self) -> None:
        while True:  # a worker that stops beating counts as dead within the heartbeat timeout
            activity.heartbeat()
            await asyncio.sleep(self.heartbeat_every)

    def all(self) -> list[Any]:
        """The activities to register on a worker."""
        return [self.start_turn, self.next_turn, self.resume_turn]
