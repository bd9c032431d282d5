"""The loop: model turn -> tool calls -> the pipeline for each call -> next turn.

Each call passes, in order: parse -> validate -> authorise -> confirm -> execute -> label ->
audit -> back to the model. Decisions of one turn are made one after another (so quotas
and rate limits see the calls before them); the calls allowed then run concurrently.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from agentkit.approval import (
    ApprovalDecision,
    Approver,
    check_binding,
    normalise_decisions,
    pending_approval,
)
from agentkit.approval_store import ApprovalLedger, MemoryLedger
from agentkit.audit_seam import AuditRecorder, NullRecorder
from agentkit.decision import Authoriser, Decision, Principal, ProposedCall
from agentkit.errors import (
    AgentkitError,
    ApprovalRefused,
    AuditError,
    BudgetExceeded,
    MaxToolCallsExceeded,
    MaxTurnsExceeded,
    ModelBehaviorError,
    RunStateError,
    ToolArgumentsInvalid,
    TooManyToolErrors,
    UnknownTool,
)
from agentkit.execute import Execution, execute
from agentkit.history import RecentCalls, history_for
from agentkit.label import DEFAULT_OUTPUT_CAP, label_output
from agentkit.limits import destructive_floor, effective_limits
from agentkit.model.json_answer import text_format
from agentkit.model.types import FunctionCall, ModelClient, ModelRequest, ModelResponse
from agentkit.model_turn import fold_response
from agentkit.parse import parse_arguments
from agentkit.state import RunError, RunResult, Step
from agentkit.structured import correction_message, structured_problem
from agentkit.tool import Tool

DECLINED_MESSAGE = "A person declined this call. It was not run."


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Limits and request options of a run."""

    max_turns: int = 12
    max_tool_calls: int = 32
    max_tool_errors: int = 6
    """Invalid calls and tool failures the model may make before the run stops."""
    output_cap: int = DEFAULT_OUTPUT_CAP
    approval_timeout: float = 300.0
    stream: bool = False
    parallel_tool_calls: bool = True
    chain_responses: bool = False
    """Send only new items plus `previous_response_id` (xAI keeps responses for 30 days);
    the default resends the whole conversation and keeps nothing on the server's word."""
    request_options: Mapping[str, Any] = field(default_factory=dict)
    """Extra ModelRequest fields (temperature, max_output_tokens, reasoning_effort, ...)."""


class Runner:
    """Drives runs of one agent configuration. Safe to share between concurrent runs."""

    def __init__(
        self,
        *,
        client: ModelClient,
        model: str,
        tools: Iterable[Tool],
        authoriser: Authoriser,
        instructions: str | None = None,
        server_tools: Iterable[Mapping[str, Any]] = (),
        config: RunConfig | None = None,
        audit: AuditRecorder | None = None,
        approver: Approver | None = None,
        ledger: ApprovalLedger | None = None,
        agent_name: str = "agent",
        output_type: type[BaseModel] | None = None,
        clock: Any = time.time,
    ) -> None:
        self.client = client
        self.model = model
        self.tools = {t.name: t for t in tools}
        self.authoriser = authoriser
        self.instructions = instructions
        self.config = config or RunConfig()
        self.audit: AuditRecorder = audit or NullRecorder()
        self.approver = approver
        self.ledger: ApprovalLedger = ledger or MemoryLedger()
        self.agent_name = agent_name
        self._clock = clock
        self._wire_tools = [t.wire() for t in self.tools.values()] + [dict(s) for s in server_tools]
        self.output_type = output_type
        self._text_format = text_format(output_type) if output_type is not None else None
        self._recent = RecentCalls()
        self._limits = effective_limits(
            self.config.max_turns, self.config.max_tool_calls, authoriser
        )

    # --- entry points ----------------------------------------------------------------------

    async def start(
        self, prompt: str, *, principal: Principal | None = None, run_id: str | None = None
    ) -> RunResult:
        run = RunResult(
            run_id=run_id or uuid.uuid4().hex,
            agent=self.agent_name,
            model=self.model,
            principal=principal or Principal(),
            conversation=[{"role": "user", "content": prompt}],
            user_messages=[prompt],
            started_at=self._clock(),
        )
        try:
            self._record(run, "run.started", self._start_fields())
        except AuditError as exc:
            self._fail(run, exc)
            raise
        return await self._drive(run)

    def _start_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"agent": self.agent_name, "model": self.model}
        facts = {name: tool.facts for name, tool in self.tools.items() if tool.facts}
        if facts:
            fields["tool_facts"] = facts
        return fields

    async def resume(
        self,
        run: RunResult,
        decisions: Iterable[ApprovalDecision] | Mapping[str, bool] | None,
        *,
        approver_name: str = "unknown",
    ) -> RunResult:
        if run.status != "awaiting_approval":
            raise RunStateError(f"run {run.run_id} is {run.status}, not awaiting approval")
        try:
            approved = self._apply_decisions(
                run, normalise_decisions(decisions, run, approver_name)
            )
            if run.pending:
                return run  # some approvals are still open: stay paused
            run.status = "running"
            self._record(run, "run.resumed", {})
            await self._execute_all(run, approved)
            self._close_turn(run)
        except ApprovalRefused:
            raise  # the caller's mistake: the stored run stays as it was
        except AgentkitError as exc:
            self._fail(run, exc)
            raise
        return await self._drive(run)

    # --- the loop --------------------------------------------------------------------------

    async def _drive(self, run: RunResult) -> RunResult:
        try:
            while True:
                if run.turn >= self._limits.max_turns:
                    raise MaxTurnsExceeded(
                        f"run {run.run_id} reached {self._limits.max_turns} model turns",
                        limit="max_turns",
                        value=self._limits.max_turns,
                    )
                self._check_budget(run)
                response = await self._model_turn(run)
                if not response.function_calls:
                    if self._needs_correction(run, response):
                        continue
                    self._finish(run, response)
                    return run
                await self._handle_turn(run, response.function_calls)
                if run.pending:
                    self._pause(run)
                    return run
                self._close_turn(run)
        except AgentkitError as exc:
            self._fail(run, exc)
            raise

    def _check_budget(self, run: RunResult) -> None:
        budget = self._limits.max_cost_usd
        if budget is not None and run.totals.cost_usd >= budget:
            raise BudgetExceeded(
                f"run {run.run_id} spent ${run.totals.cost_usd:.4f} of its ${budget:.4f} budget",
                limit="max_cost_usd",
                value=budget,
            )

    async def _model_turn(self, run: RunResult) -> ModelResponse:
        chained = self.config.chain_responses and run.previous_response_id is not None
        request = ModelRequest(
            model=self.model,
            input=run.conversation[run.server_has :] if chained else list(run.conversation),
            previous_response_id=run.previous_response_id if chained else None,
            instructions=self.instructions,
            tools=self._wire_tools,
            text_format=self._text_format,
            parallel_tool_calls=self.config.parallel_tool_calls,
            stream=self.config.stream,
            user=run.principal.user_id,
            **self.config.request_options,
        )
        self._record(run, "model.request", {"model": self.model, "items": len(request.input)})
        response = await self.client.respond(request)
        for step in fold_response(run, response, now=self._clock()):
            self._record(run, "call.executed", {"server_side": True}, step)
        self._record(
            run,
            "model.response",
            {
                "request_id": response.request_id,
                "response_id": response.id,
                "status": response.status,
                "calls": len(response.function_calls),
                "usage": response.usage.to_dict(),
            },
        )
        return response

    def _needs_correction(self, run: RunResult, response: ModelResponse) -> bool:
        """With an output type: True after asking once for a conforming answer."""
        if self.output_type is None:
            return False
        problem = structured_problem(response.text, self.output_type)
        if problem is None:
            run.structured = json.loads(response.text)
            return False
        if run.corrections >= 1:
            raise ModelBehaviorError(
                f"the answer does not match {self.output_type.__name__} after one correction: "
                f"{problem[:1000]}",
                request_id=response.request_id,
            )
        run.corrections += 1
        run.conversation.append(correction_message(problem))
        return True

    def _finish(self, run: RunResult, response: ModelResponse) -> None:
        run.output = response.text
        run.status = "completed"
        run.ended_at = self._clock()
        self._record(run, "run.ended", {"status": "completed", "cost_usd": run.totals.cost_usd})

    def _pause(self, run: RunResult) -> None:
        run.status = "awaiting_approval"
        self._record(run, "run.paused", {"pending": [p.approval_id for p in run.pending]})

    def _fail(self, run: RunResult, exc: AgentkitError) -> None:
        run.status = "failed"
        run.error = RunError(type=type(exc).__name__, message=str(exc))
        run.ended_at = self._clock()
        exc.run = run  # type: ignore[attr-defined]  # nothing is lost: the state rides on the error
        if not isinstance(exc, AuditError):
            self._record(run, "run.ended", {"status": "failed", "error": run.error.type})

    # --- one turn of calls -----------------------------------------------------------------

    async def _handle_turn(self, run: RunResult, calls: list[FunctionCall]) -> None:
        steps = [self._new_step(run, call) for call in calls]
        runnable: list[Step] = []
        for step in steps:
            if await self._gate(run, step):
                runnable.append(step)
        await self._execute_all(run, runnable)

    def _new_step(self, run: RunResult, call: FunctionCall) -> Step:
        step = Step(
            call_id=call.call_id,
            tool=call.name,
            turn=run.turn,
            raw_arguments=call.arguments,
            started_at=self._clock(),
        )
        run.steps.append(step)
        run.open_calls.append(call.call_id)
        self._record(run, "call.requested", {"tool": call.name}, step)
        return step

    async def _gate(self, run: RunResult, step: Step) -> bool:
        """Parse, validate, authorise and confirm one call. True when it may run now."""
        tool = self._validated(run, step)
        if tool is None:
            return False
        if run.tool_calls >= self._limits.max_tool_calls:
            raise MaxToolCallsExceeded(
                f"run {run.run_id} reached {self._limits.max_tool_calls} tool calls",
                limit="max_tool_calls",
                value=self._limits.max_tool_calls,
            )
        assert step.arguments is not None
        now = self._clock()
        history = history_for(run, self.tools, now=now, recent=self._recent)
        call = ProposedCall.model_construct(
            call_id=step.call_id, tool=tool.info, arguments=step.arguments
        )
        decision = destructive_floor(tool, self.authoriser.decide(run.principal, call, history))
        step.decision = decision
        self._record(
            run,
            "call.decided",
            {"action": decision.action, "rule": decision.rule, "reason": decision.reason},
            step,
        )
        if decision.action == "allow":
            self._recent.add(run.principal.user_id, tool.name, self._clock())
            return True
        if decision.action == "deny":
            self._settle(
                run, step, "denied", f"Denied by policy ({decision.rule}): {decision.reason}"
            )
            return False
        return await self._confirm(run, step, decision)

    def _validated(self, run: RunResult, step: Step) -> Tool | None:
        tool = self.tools.get(step.tool)
        try:
            if tool is None:
                raise UnknownTool(f"there is no tool named {step.tool!r}", tool=step.tool)
            step.arguments = parse_arguments(tool.name, step.raw_arguments)
            step.arguments = tool.validate(step.arguments)
        except (ToolArgumentsInvalid, UnknownTool) as exc:
            status = "unknown_tool" if isinstance(exc, UnknownTool) else "invalid"
            self._settle(run, step, status, f"Error: {exc}. Correct the call and try again.")
            self._record(run, "call.invalid", {"error": str(exc)}, step)
            self._count_error(run)
            return None
        self._record(run, "call.validated", {"arguments": step.arguments}, step)
        return tool

    async def _confirm(self, run: RunResult, step: Step, decision: Decision) -> bool:
        assert step.arguments is not None
        request = pending_approval(
            run.run_id,
            step.call_id,
            step.tool,
            step.arguments,
            reason=decision.reason,
            rule=decision.rule,
            now=self._clock(),
        )
        self._record(
            run,
            "approval.requested",
            {"approval_id": request.approval_id, "reason": decision.reason},
            step,
        )
        if self.approver is None:
            run.pending.append(request)
            step.status = "awaiting_approval"
            return False
        try:
            approved = await asyncio.wait_for(
                self.approver(request), timeout=self.config.approval_timeout
            )
            note = ""
        except TimeoutError:
            approved, note = False, "timed out"
        self.ledger.consume(request.approval_id)
        run.consumed_approvals.append(request.approval_id)
        step.approver = self.approver.name
        self._record(
            run,
            "approval.decided",
            {
                "approval_id": request.approval_id,
                "approved": approved,
                "approver": step.approver,
                "note": note,
            },
            step,
        )
        if approved:
            self._recent.add(run.principal.user_id, step.tool, self._clock())
            return True
        self._settle(run, step, "declined", DECLINED_MESSAGE)
        return False

    def _apply_decisions(self, run: RunResult, decisions: list[ApprovalDecision]) -> list[Step]:
        approved: list[Step] = []
        answered = [(decision, check_binding(run, decision)) for decision in decisions]
        for decision, pending in answered:
            if not self.ledger.consume(pending.approval_id):
                raise ApprovalRefused(f"approval {pending.approval_id} was already used (replay)")
            run.pending.remove(pending)
            run.consumed_approvals.append(pending.approval_id)
            step = run.step(pending.call_id)
            step.approver = decision.approver
            self._record(
                run,
                "approval.decided",
                {
                    "approval_id": pending.approval_id,
                    "approved": decision.approved,
                    "approver": decision.approver,
                },
                step,
            )
            if decision.approved:
                approved.append(step)
            else:
                self._settle(run, step, "declined", DECLINED_MESSAGE)
        return approved

    async def _execute_all(self, run: RunResult, steps: list[Step]) -> None:
        if len(steps) == 1:
            await self._execute(run, steps[0])
        elif steps:
            await asyncio.gather(*(self._execute(run, step) for step in steps))

    async def _execute(self, run: RunResult, step: Step) -> None:
        tool = self.tools[step.tool]
        assert step.arguments is not None
        started = time.perf_counter()
        result: Execution = await execute(tool, step.arguments)
        step.duration_ms = (time.perf_counter() - started) * 1000
        labelled = label_output(
            tool.name, result.text, untrusted=result.untrusted, cap=self.config.output_cap
        )
        step.untrusted = labelled.untrusted
        step.truncated = labelled.truncated or result.truncated
        step.citations = list(result.citations)
        run.citations.extend(url for url in result.citations if url not in run.citations)
        status = {"ok": "ok", "failed": "failed", "timed_out": "timed_out"}[result.outcome]
        if result.outcome != "ok":
            step.error = result.text
            self._count_error(run)
        self._settle(run, step, status, labelled.text)
        event = {"ok": "call.executed", "failed": "call.failed", "timed_out": "call.timed_out"}
        self._record(
            run,
            event[result.outcome],
            {
                "duration_ms": round(step.duration_ms, 3),
                "untrusted": step.untrusted,
                "truncated": step.truncated,
                "output": labelled.text,
            },
            step,
        )

    def _settle(self, run: RunResult, step: Step, status: Any, output: str) -> None:
        step.status = status
        step.output = output

    def _close_turn(self, run: RunResult) -> None:
        """Send every output of the turn back, in the order the model asked."""
        for call_id in run.open_calls:
            step = run.step(call_id)
            run.conversation.append(
                {"type": "function_call_output", "call_id": call_id, "output": step.output or ""}
            )
        run.open_calls.clear()

    def _count_error(self, run: RunResult) -> None:
        run.tool_errors += 1
        if run.tool_errors > self.config.max_tool_errors:
            raise TooManyToolErrors(
                f"run {run.run_id}: {run.tool_errors} invalid or failed tool calls",
                limit="max_tool_errors",
                value=self.config.max_tool_errors,
            )

    def _record(
        self, run: RunResult, event: str, fields: dict[str, Any], step: Step | None = None
    ) -> None:
        fields["run_id"] = run.run_id
        fields["turn"] = run.turn
        fields["principal"] = run.principal.user_id
        if step is not None:
            fields["call_id"] = step.call_id
            fields["tool"] = step.tool
        if run.usage and "request_id" not in fields:
            fields["request_id"] = run.usage[-1]["request_id"]  # the turn that led here
        self.audit.record(event, fields)
