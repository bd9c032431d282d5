"""An agent run as a Temporal workflow: turns are activities, approvals are updates.

The workflow holds the run's sealed state between activities and nothing else of the
agent: the model, the tools and the policy decisions run in activities, on workers. It
retries a turn whose worker died only when no call that changes something had started in
it; otherwise the run waits (``needs_attention``) for a person's word (``resolve``).
A paused run waits for ``decide`` updates; their validator applies the approver rules the
policy stamped into each pending call (`agentkit.who_approves`) before anything enters
the history: the wrong arguments, a replay, the same person twice, someone the rule does
not allow, or a request past its expiry (a durable timer) are refused there.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from agentkit.errors import ApprovalRefused
    from agentkit.temporal.activities import NEXT, RESUME, START
    from agentkit.temporal.messages import (
        DecideApproval,
        Decided,
        EffectStarted,
        ResolveEffect,
        RunEnd,
        RunStart,
        TurnInput,
        TurnOutcome,
    )
    from agentkit.who_approves import Approvers, Signer, check_signers

MAX_RETRIES = 20
"""Turns repeated after their worker died (with no effect started) before the run fails."""


WORKFLOW_TYPE = "agentkit.AgentRun"
"""The workflow's type name, as Temporal lists it."""


@workflow.defn(name=WORKFLOW_TYPE)
class AgentRunWorkflow:
    """One durable run (`RunStart` in, `RunEnd` out)."""

    def __init__(self) -> None:
        self._status = "running"
        self._pending: dict[str, dict[str, Any]] = {}
        self._signers: dict[str, list[Signer]] = {}
        self._verdicts: dict[str, Decided] = {}
        self._consumed: list[str] = []
        self._effects: list[EffectStarted] = []
        self._resolution: ResolveEffect | None = None
        self._requester = ""
        self._run_id = ""
        self._events: list[dict[str, Any]] = []

    @workflow.run
    async def run(self, start: RunStart) -> RunEnd:
        self._requester = str(start.principal.get("user_id", ""))
        self._run_id = start.run_id
        work = TurnInput(start.run_id, prompt=start.prompt, principal=start.principal)
        outcome = await self._turn(START, work, start)
        while True:
            if isinstance(outcome, RunEnd):
                return outcome
            if outcome.status == "running":
                work = TurnInput(start.run_id, state=outcome.state, consumed=self._consumed)
                outcome = await self._turn(NEXT, work, start)
            elif outcome.status == "awaiting_approval":
                decisions = await self._decisions(outcome)
                work = TurnInput(
                    start.run_id,
                    state=outcome.state,
                    decisions=decisions,
                    consumed=list(self._consumed),
                )
                self._consumed.extend(d.approval_id for d in decisions)
                outcome = await self._turn(RESUME, work, start)
            else:
                self._status = outcome.status
                return RunEnd(outcome.status, outcome.state)

    def _record(self, events: list[dict[str, Any]]) -> None:
        """Events join the run's stream in the order turns completed, numbered on from the
        last (each turn's activity numbers its own from 1)."""
        for event in events:
            self._events.append({**event, "seq": len(self._events) + 1})

    def _ended(self, status: str, state: str | None, error: str) -> RunEnd:
        self._status = status
        data = {"status": status, "error": error}
        self._record([{"type": "run.result", "run_id": self._run_id, "turn": 0, "data": data}])
        return RunEnd(status, state, error)

    # --- one turn, and what happens when its worker dies ----------------------------------

    async def _turn(self, name: str, work: TurnInput, start: RunStart) -> TurnOutcome | RunEnd:
        self._status = "running"
        for _ in range(MAX_RETRIES):
            self._effects = []
            try:
                outcome: TurnOutcome = await workflow.execute_activity(
                    name,
                    work,
                    result_type=TurnOutcome,
                    start_to_close_timeout=timedelta(seconds=start.turn_timeout),
                    heartbeat_timeout=timedelta(seconds=start.heartbeat_timeout),
                    retry_policy=RetryPolicy(maximum_attempts=1),  # the workflow decides
                )
                self._record(outcome.events)
                return outcome
            except ActivityError as error:
                cause = error.cause
                if isinstance(cause, ApplicationError) and cause.non_retryable:
                    return self._ended("failed", work.state, f"{cause.type}: {cause.message}")
                if self._effects:  # a call that changes something may have run
                    ended = await self._await_resolution(work)
                    if ended is not None:
                        return ended
                await workflow.sleep(timedelta(seconds=1))
        return self._ended("failed", work.state, f"the turn's worker died {MAX_RETRIES} times")

    async def _await_resolution(self, work: TurnInput) -> RunEnd | None:
        self._status, self._resolution = "needs_attention", None
        calls = [e.call_id for e in self._effects]
        reason = "its worker stopped while a call ran: say whether it took effect (resolve)"
        data = {"status": "needs_attention", "reason": reason, "call_id": calls[0]}
        self._record([{"type": "run.interrupted", "run_id": self._run_id, "turn": 0,
                       "data": data}])  # fmt: skip
        await workflow.wait_condition(lambda: self._resolution is not None)
        resolution = self._resolution
        assert resolution is not None
        self._status = "running"
        if resolution.ran:
            return self._ended(
                "failed",
                work.state,
                f"call {', '.join(calls)} ran (said {resolution.resolver}) but its result was "
                "lost with its worker; the run stops here rather than run it again",
            )
        return None  # it did not run: the turn is run again from the same state

    @workflow.signal(name="effect_started")
    def effect_started(self, started: EffectStarted) -> None:
        self._effects.append(started)

    @workflow.update(name="resolve")
    def resolve(self, resolution: ResolveEffect) -> str:
        self._resolution = resolution
        return "ran" if resolution.ran else "run again"

    @resolve.validator
    def _check_resolve(self, resolution: ResolveEffect) -> None:
        if self._status != "needs_attention":
            raise ApplicationError(f"the run is {self._status}: nothing to resolve")

    # --- approvals ----------------------------------------------------------------------------

    async def _decisions(self, outcome: TurnOutcome) -> list[Decided]:
        self._status = "awaiting_approval"
        self._pending = {p["approval_id"]: p for p in outcome.pending}
        deadline = self._deadline()
        done = lambda: all(a in self._verdicts for a in self._pending)  # noqa: E731
        if deadline is None:
            await workflow.wait_condition(done)
        else:
            wait = max(0.0, deadline - workflow.now().timestamp())
            with contextlib.suppress(TimeoutError):  # the durable timer: past it, declined
                await workflow.wait_condition(done, timeout=timedelta(seconds=wait))
        for approval_id in self._pending:  # what nobody decided in time is declined
            self._verdicts.setdefault(
                approval_id, Decided(approval_id, False, "expired", [], "the request expired")
            )
        decided = [self._verdicts[a] for a in self._pending]
        self._pending = {}
        self._status = "running"
        return decided

    def _deadline(self) -> float | None:
        ends = [
            float(p["requested_at"]) + float(p["approvers"]["expires_after"])
            for p in self._pending.values()
            if (p.get("approvers") or {}).get("expires_after")
        ]
        return min(ends) if ends else None

    @workflow.update(name="decide")
    def decide(self, decision: DecideApproval) -> str:
        pending = self._pending[decision.approval_id]
        signer = Signer(user_id=decision.approver, roles=tuple(decision.roles))
        signers = [*self._signers.get(decision.approval_id, []), signer]
        outcome = self._outcome(pending, decision, signers)
        self._signers[decision.approval_id] = signers if decision.approved else [signer]
        if outcome != "waiting":
            self._verdicts[decision.approval_id] = Decided(
                decision.approval_id,
                outcome == "approved",
                decision.approver,
                [s.model_dump(mode="json") for s in self._signers[decision.approval_id]],
                decision.note,
            )
        return outcome

    @decide.validator
    def _check_decide(self, decision: DecideApproval) -> None:
        pending = self._pending.get(decision.approval_id)
        if pending is None or decision.approval_id in self._verdicts:
            raise ApplicationError(f"approval {decision.approval_id} is not pending (a replay?)")
        if decision.arguments_sha256 != pending["arguments_sha256"]:
            raise ApplicationError(
                f"the decision on {decision.approval_id} is for other arguments than the call's"
            )
        signer = Signer(user_id=decision.approver, roles=tuple(decision.roles))
        self._outcome(pending, decision, [*self._signers.get(decision.approval_id, []), signer])

    def _outcome(
        self, pending: dict[str, Any], decision: DecideApproval, signers: list[Signer]
    ) -> str:
        try:
            return check_signers(
                Approvers.model_validate(pending.get("approvers") or {}),
                requester=self._requester,
                approved=decision.approved,
                signers=signers if decision.approved else signers[-1:],
                requested_at=float(pending["requested_at"]),
                now=workflow.now().timestamp(),
            )
        except ApprovalRefused as refused:
            raise ApplicationError(str(refused), type="ApprovalRefused") from None

    @workflow.query(name="status")
    def status(self) -> dict[str, Any]:
        """Where the run is: its status and what waits on whom."""
        return {
            "status": self._status,
            "pending": list(self._pending.values()),
            "effects": [e.call_id for e in self._effects],
            "events": len(self._events),
        }

    @workflow.query(name="events")
    def events(self, after: int) -> list[dict[str, Any]]:
        """The run's events after sequence number `after`, as the service streams them."""
        return self._events[max(0, after) :]
