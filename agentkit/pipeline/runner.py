"""The loop: model turn -> tool calls -> the pipeline for each call -> next turn.

Each call passes, in order: parse and validate -> authorise -> confirm -> execute -> label,
with a record of every transition, and its output goes back to the model. Decisions of one
turn are made one after another (so quotas and rate limits see the calls before them); the
calls allowed then run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from opentelemetry.trace import Tracer
from pydantic import BaseModel

from agentkit.audit.chain import AuditRecorder, NullAudit
from agentkit.call_context import CURRENT_CALL, CallContext
from agentkit.decision import Authoriser, Decision, Principal, ProposedCall, SideEffect, ToolInfo
from agentkit.errors import (
    AgentkitError,
    ApprovalRefused,
    AuditError,
    ImageInputDenied,
    RunStateError,
    ToolArgumentsInvalid,
)
from agentkit.events import EventSink
from agentkit.media.image_input import ImageInput, ImagesArg, as_image_inputs, user_message
from agentkit.media.moderation import ModerationItem, Moderator, moderate
from agentkit.model.json_answer import text_format
from agentkit.model.streaming import TEXT_DELTAS
from agentkit.model.types import FunctionCall, ModelClient, ModelResponse
from agentkit.pipeline import record as ev
from agentkit.pipeline.answer import check_answer
from agentkit.pipeline.authorise import (
    PROCESS_RATE_WINDOW,
    EarlierCalls,
    RateWindow,
    authorise,
    count_call,
    history_for,
)
from agentkit.pipeline.checkpoints import Checkpoints
from agentkit.pipeline.confirm import (
    PROCESS_LEDGER,
    ApprovalDecision,
    ApprovalLedger,
    Approver,
    InlineAnswer,
    MemoryLedger,
    applied_here,
    ask,
    check_binding,
    check_deciders,
    check_fresh,
    check_not_used,
    check_state,
    ledgers_for,
    normalise_decisions,
    pending_approval,
    seal_state,
    sealed_json,
)
from agentkit.pipeline.execute import ToolOutcome, execute
from agentkit.pipeline.grounding import check_grounding, grounded_instructions
from agentkit.pipeline.label import label_fields, label_output
from agentkit.pipeline.outgoing import redacted_items, restorer
from agentkit.pipeline.overrides import with_overrides
from agentkit.pipeline.record import RunRecorder
from agentkit.pipeline.result_cache import PROCESS_RESULT_CACHE, ResultCache, cache_key
from agentkit.pipeline.run_config import RunConfig
from agentkit.pipeline.turn import (
    NOT_OFFERED,
    check_call_ids,
    check_complete,
    fold_response,
    model_request,
    offered_server_tools,
    unpriced_requests,
)
from agentkit.pipeline.validate import Rejected, ValidCall, feedback, validate_call
from agentkit.run_limits import RunLimits
from agentkit.sealing import Sealer, default_sealer
from agentkit.state import PendingApproval, RunError, RunResult, Step, StepStatus
from agentkit.telemetry.instruments import Instruments, instruments_for
from agentkit.telemetry.logs import log_context
from agentkit.telemetry.run_spans import ChatSpan, RunSpans
from agentkit.telemetry.settings import GLOBAL_TELEMETRY, TelemetrySettings
from agentkit.tool import Tool, wire_entries, wire_name
from agentkit.tools.mcp.remote import policy_names
from agentkit.tools.search.entries import scoped_file_search
from agentkit.who_approves import Signer, default_approvers

DECLINED_MESSAGE = "A person declined this call. It was not run."
NO_MODEL = "none"
"""The model of a run whose one call a client made itself (`Runner.call_tool`)."""
_NO_CHAT_SPAN: contextlib.nullcontext[ChatSpan | None] = contextlib.nullcontext(None)
_NO_CALL_SPAN: contextlib.nullcontext[None] = contextlib.nullcontext()


class Runner:
    """Drives runs of one agent configuration. Safe to share between concurrent runs.

    The authoriser's tool overrides (a policy's ``untrusted_output``, ``untrusted_columns``)
    are applied to `tools` here, once, so every output is labelled as the policy says.

    Args:
        limits: further run limits (a policy's); the stricter of these and the config's apply.
    """

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
        limits: RunLimits | None = None,
        audit: AuditRecorder | None = None,
        approver: Approver | None = None,
        ledger: ApprovalLedger | None = None,
        agent_name: str = "agent",
        output_type: type[BaseModel] | None = None,
        sealer: Sealer | None = None,
        rate_window: RateWindow | None = None,
        clock: Any = time.time,
        moderator: Moderator | None = None,
        result_cache: ResultCache | None = None,
        telemetry: TelemetrySettings | None = None,
    ) -> None:
        self.client = client
        self.telemetry = telemetry or GLOBAL_TELEMETRY  # where spans and measurements go
        self._telemetry_parts: tuple[Tracer, Instruments] | None = None
        self.moderator = moderator
        """Shown every image a run is given before anything is sent (`agentkit.media`)."""
        self.result_cache = PROCESS_RESULT_CACHE if result_cache is None else result_cache
        """Where read tools' results are kept, when the policy says so (``cache:``)."""
        self.model = model
        self._server_tools = [dict(s) for s in server_tools]
        servers = [name for name, _ in policy_names(self._server_tools)]
        self.tools = {t.name: t for t in with_overrides(tools, authoriser, servers)}
        self.authoriser = authoriser
        self.instructions = instructions
        if config is not None and config.grounded:
            self.instructions = grounded_instructions(instructions)
        self.config = config or RunConfig()
        self.limits = self.config.limits.stricter(limits or RunLimits())
        self.audit: AuditRecorder = audit or NullAudit()
        self.approver = approver
        self.ledger: ApprovalLedger = ledger or PROCESS_LEDGER
        self.agent_name = agent_name
        self.output_type = output_type
        self._sealer = sealer
        self._text_format = text_format(output_type) if output_type is not None else None
        self._clock = clock
        self._wire_tools, self._by_wire = wire_entries(self.tools.values())
        self._recent: RateWindow = rate_window or PROCESS_RATE_WINDOW

    @property
    def sealer(self) -> Sealer:
        """The deployment's sealer (read from the environment on first use)."""
        if self._sealer is None:
            self._sealer = default_sealer()
        return self._sealer

    # --- entry points ----------------------------------------------------------------------

    async def start(
        self,
        prompt: str,
        *,
        principal: Principal | None = None,
        run_id: str | None = None,
        events: EventSink | None = None,
        checkpoints: Checkpoints | None = None,
        images: ImagesArg = (),
    ) -> RunResult:
        """Start a run on `prompt`, and `images` beside it (`as_image_inputs` says what each
        may be; every one is checked before anything is sent).

        Raises:
            ImageInputError: an image is refused (nothing was sent, no run was recorded);
                `ImageInputDenied` when the policy does not let the principal send images.
        """
        inputs = await _checked_images(images)
        if inputs:
            await self._admit_images(inputs, principal or Principal())
        run = RunResult(
            run_id=run_id or uuid.uuid4().hex,
            agent=self.agent_name,
            model=self.model,
            principal=principal or Principal(),
            conversation=[user_message(prompt, inputs)],
            user_messages=[prompt],
            started_at=self._clock(),
        )
        with self._traced(run, "start") as spans:
            recorder = RunRecorder(self.audit, run, events, checkpoints, spans)
            facts = {name: tool.facts for name, tool in self.tools.items() if tool.facts}
            try:
                recorder.emit(
                    ev.RunStarted(
                        self.agent_name,
                        self.model,
                        facts or None,
                        authoriser_name(self.authoriser),
                        images=[image.metadata() for image in inputs] or None,
                    )
                )
            except AuditError as exc:
                self._fail(recorder, run, exc)
                raise
            return await self._drive(recorder, run)

    @contextlib.contextmanager
    def _traced(self, run: RunResult, entry: str) -> Iterator[RunSpans | None]:
        """The run's ``invoke_agent`` span and log ids around one entry into it."""
        if not self.telemetry.reports():
            with log_context(run_id=run.run_id):
                yield None
            return
        if self._telemetry_parts is None:
            self._telemetry_parts = (self.telemetry.tracer(), instruments_for(self.telemetry))
        tracer, instruments = self._telemetry_parts
        spans = RunSpans(self.telemetry, agent=self.agent_name, run_id=run.run_id,
                         model=self.model, roles=run.principal.roles, tracer=tracer,
                         instruments=instruments)  # fmt: skip
        with spans.run(entry), log_context(run_id=run.run_id):
            try:
                yield spans
            finally:
                if spans.recording:
                    spans.run_ended(run.status, run.totals.model_dump())

    async def _admit_images(self, images: Sequence[ImageInput], principal: Principal) -> None:
        """The policy's word on the principal giving images, then the moderator's on each:
        a refusal stops the run before anything is sent or recorded."""
        refusal = getattr(self.authoriser, "image_input_refusal", None)
        reason = refusal(principal) if refusal is not None else None
        if reason:
            raise ImageInputDenied(reason)
        if self.moderator is None:
            if getattr(self.authoriser, "images_need_moderator", False):
                raise ImageInputDenied(
                    "the policy lets a run carry images only past a moderator "
                    "(inputs.images.moderated), and this agent has none (Agent(moderator=...))"
                )
            return
        for image in images:
            item = ModerationItem("input_image", "run", principal, text=image.url,
                                  data=image.data, media_type=image.media_type)  # fmt: skip
            await moderate(self.moderator, item)

    async def resume(
        self,
        run: RunResult,
        decisions: Iterable[ApprovalDecision] | Mapping[str, bool] | None,
        *,
        approver_name: str = "unknown",
        principal: Principal | None = None,
        events: EventSink | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> RunResult:
        """Continue a paused run with decisions on its pending approvals.

        Raises:
            RunStateTampered: the state is not the one that paused (edited, or another key).
            RunStateError: the run is not paused, or `principal` is not the run's.
            ConfigError: a decision is malformed, or no ledger can make approvals single-use.
            ApprovalRefused: a decision does not match its call, or was already used.
        """
        if run.status != "awaiting_approval":
            raise RunStateError(f"run {run.run_id} is {run.status}, not awaiting approval")
        check_state(run, self.sealer, principal)
        check_fresh(run, self.audit)
        with self._traced(run, "resume") as spans:
            recorder = RunRecorder(self.audit, run, events, checkpoints, spans)
            return await self._resume(recorder, run, decisions, approver_name)

    async def _resume(
        self,
        recorder: RunRecorder,
        run: RunResult,
        decisions: Iterable[ApprovalDecision] | Mapping[str, bool] | None,
        approver_name: str,
    ) -> RunResult:
        answered = normalise_decisions(decisions, run, approver_name)  # the caller's mistakes
        ledgers = ledgers_for(run, answered, self.ledger)
        check_not_used(run, ledgers)
        answered = [d for d in answered if not applied_here(run, d)]
        with self._ends_on_failure(recorder, run, keeping=ApprovalRefused):
            self._apply_decisions(recorder, run, answered, ledgers)
            if run.pending:
                seal_state(run, self.sealer)
                return run  # some approvals are still open: approved calls wait with them
            run.status = "running"
            run.seal = None
            recorder.emit(ev.RunResumed())
            await self._execute_all(recorder, run, self._still_allowed(recorder, run))
            self._close_turn(run)
            if run.called_by is not None:
                self._end_call(recorder, run)  # no model waits for the outputs
                return run
        return await self._drive(recorder, run)

    async def continue_from(
        self,
        run: RunResult,
        *,
        principal: Principal | None = None,
        events: EventSink | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> RunResult:
        """Continue a run from a checkpoint its earlier process kept at the start of a turn
        (`Checkpoints.turn_starting`): the model is asked again from there.

        Raises:
            RunStateTampered: the state is not one this deployment sealed.
            RunStateError: the run is not a running checkpoint, or `principal` is not its.
            StaleRunState: the audit log knows approvals used after it.
        """
        if run.status != "running" or run.open_calls or run.pending:
            raise RunStateError(
                f"run {run.run_id} is not a checkpoint taken between turns (status "
                f"{run.status}, {len(run.open_calls)} open calls)"
            )
        check_state(run, self.sealer, principal)
        check_fresh(run, self.audit)
        run.seal = None
        with self._traced(run, "continue") as spans:
            recorder = RunRecorder(self.audit, run, events, checkpoints, spans)
            try:
                recorder.emit(ev.RunResumed(reason="continued"))
            except AuditError as exc:
                self._fail(recorder, run, exc)
                raise
            return await self._drive(recorder, run, checkpoint_first=False)

    async def call_tool(
        self,
        tool: str,
        arguments: Mapping[str, Any],
        *,
        principal: Principal,
        called_by: str,
        run_id: str | None = None,
        earlier: EarlierCalls | Sequence[Step] = (),
    ) -> RunResult:
        """Run one call a client proposes itself (no model) through the same stages as a
        model's: validate, authorise, confirm, execute, label, record.

        `earlier` are the settled steps of the client's earlier calls (other runs) that
        decisions see, as if made in this run: data-flow rules, sinks and the policy's run
        limits then hold across them (an `EarlierCalls` brings what is derived from them
        too). The run's last step is this call. It ends with the call (its output is the
        run's output; a denied or failed call is in its step), or pauses for an approval:
        `resume` it with the decision as any paused run, and the call runs then.
        """
        run = RunResult(run_id=run_id or uuid.uuid4().hex, agent=self.agent_name,
                        model=NO_MODEL, principal=principal, called_by=called_by,
                        started_at=self._clock())  # fmt: skip
        if isinstance(earlier, EarlierCalls):
            earlier.seed(run)
        else:
            run.steps = list(earlier)  # settled steps of ended runs: never changed here
        call = FunctionCall(call_id=f"call_{uuid.uuid4().hex[:24]}", name=wire_name(tool),
                            arguments=json.dumps(arguments, ensure_ascii=False))  # fmt: skip
        policy = authoriser_name(self.authoriser)
        started = ev.RunStarted(self.agent_name, NO_MODEL, policy=policy, called_by=called_by,
                                earlier_calls=len(run.steps) or None)  # fmt: skip
        with self._traced(run, "call") as spans:
            recorder = RunRecorder(self.audit, run, None, None, spans)
            with self._ends_on_failure(recorder, run):
                recorder.emit(started)
                await self._handle_turn(recorder, run, [call])
                if run.pending:
                    self._pause(recorder, run)
                    return run
                self._close_turn(run)
                self._end_call(recorder, run)
            return run

    def _end_call(self, recorder: RunRecorder, run: RunResult) -> None:
        """End a run of one client's call: its output is the call's."""
        run.output = run.steps[-1].output  # the client's call: the run's last step
        run.status = "completed"
        run.ended_at = self._clock()
        recorder.emit(ev.RunCompleted(cost_usd=run.totals.cost_usd))

    # --- the loop --------------------------------------------------------------------------

    async def _drive(
        self, recorder: RunRecorder, run: RunResult, *, checkpoint_first: bool = True
    ) -> RunResult:
        checkpoint = checkpoint_first
        with self._ends_on_failure(recorder, run):
            while True:
                if checkpoint and recorder.checkpoints is not None:
                    await recorder.checkpoints.turn_starting(
                        run.run_id, sealed_json(run, self.sealer)
                    )
                checkpoint = True
                self.limits.check_before_request(
                    run.run_id, run.turn, run.totals.cost_usd, unpriced=unpriced_requests(run)
                )
                response = await self._model_turn(recorder, run)
                check_complete(response)
                if not response.function_calls:
                    if self._needs_correction(run, response):
                        continue
                    self._finish(recorder, run, response)
                    return run
                await self._handle_turn(recorder, run, response.function_calls)
                if run.pending:
                    self._pause(recorder, run)
                    return run
                self._close_turn(run)

    async def _model_turn(self, recorder: RunRecorder, run: RunResult) -> ModelResponse:
        offered, server_decisions = self._offer_server_tools(run)
        request = model_request(
            run,
            model=self.model,
            instructions=self.instructions,
            tools=self._wire_tools + offered if offered else self._wire_tools,
            text_format=self._text_format,
            config=self.config,
        )
        rules = getattr(self.authoriser, "privacy_rules", None)
        if rules is not None:
            outgoing = redacted_items(run, request.input, rules, run.principal.roles)
            request = replace(request, input=outgoing)
        recorder.emit(ev.ModelRequested(self.model, len(request.input)))
        listening = TEXT_DELTAS.set(recorder.text) if recorder.publishes else None
        spans = recorder.spans
        chat = spans.chat(request.model, stream=request.stream) if spans else _NO_CHAT_SPAN
        try:
            with chat as span:
                response = await self.client.respond(request)
                usage = response.usage.to_dict()
                if span is not None:
                    span.answered(response_id=response.id, response_model=response.model,
                                  status=response.status, usage=usage)  # fmt: skip
        finally:
            if listening is not None:
                TEXT_DELTAS.reset(listening)
                recorder.end_text()
        now = self._clock()
        for step in fold_response(run, response, now=now, server_decisions=server_decisions):
            calls = recorder.call(step)
            decision = step.decision or NOT_OFFERED
            calls.emit(ev.CallDecided(decision.action, decision.rule, decision.reason))
            calls.emit(ev.ServerCallRan(citations=step.citations or None))
        recorder.emit(
            ev.ModelResponded(
                request_id=response.request_id,
                response_id=response.id,
                status=response.status,
                calls=len(response.function_calls),
                usage=usage,
            )
        )
        return response

    def _offer_server_tools(
        self, run: RunResult
    ) -> tuple[list[dict[str, Any]], dict[str, Decision]]:
        if not self._server_tools:
            return [], {}
        history = history_for(run, self.tools, now=self._clock(), recent=self._recent)

        def decide(name: str, side_effect: SideEffect = "read") -> Decision:
            info = ToolInfo(name=name, side_effect=side_effect, untrusted_output=True)
            call = ProposedCall.model_construct(call_id=f"offer:{name}", tool=info, arguments={})
            limited = self.limits.check_tool_call(history)
            return limited or self.authoriser.decide(run.principal, call, history)

        offered, decisions = offered_server_tools(self._server_tools, decide)
        return self._scoped(offered, run.principal), decisions

    def _scoped(self, entries: list[dict[str, Any]], principal: Principal) -> list[dict[str, Any]]:
        """file_search entries name the collections the policy grants this principal (never
        ones the model picks); an entry left with none is not offered."""
        if not any(e.get("type") == "file_search" for e in entries):
            return entries
        grant = getattr(self.authoriser, "collections_for", None)
        granted = grant(principal) if grant is not None else None
        scoped = []
        for entry in entries:
            if entry.get("type") != "file_search":
                scoped.append(entry)
            elif (narrowed := scoped_file_search(entry, granted)) is not None:
                scoped.append(narrowed)
        return scoped

    def _needs_correction(self, run: RunResult, response: ModelResponse) -> bool:
        """With an output type: True after asking once for a conforming answer."""
        if self.output_type is None:
            return False
        correction = check_answer(run, response, self.output_type)
        if correction is None:
            return False
        run.corrections += 1
        run.conversation.append(correction)
        return True

    def _finish(self, recorder: RunRecorder, run: RunResult, response: ModelResponse) -> None:
        run.output = response.text
        run.status = "completed"
        run.ended_at = self._clock()
        grounding = None
        if self.config.grounded:
            run.grounding = check_grounding(run, response.text)
            grounding = run.grounding.model_dump(exclude={"retrieved"})
        recorder.emit(ev.RunCompleted(cost_usd=run.totals.cost_usd, grounding=grounding))

    def _pause(self, recorder: RunRecorder, run: RunResult) -> None:
        run.status = "awaiting_approval"
        if isinstance(self.ledger, MemoryLedger):
            self.ledger.remember_pause(run.run_id)
        seal_state(run, self.sealer)
        recorder.emit(ev.RunPaused([p.approval_id for p in run.pending]))

    @contextlib.contextmanager
    def _ends_on_failure(
        self, recorder: RunRecorder, run: RunResult, *, keeping: type[AgentkitError] | None = None
    ) -> Iterator[None]:
        """An error or a cancellation inside ends `run` on the record, then goes on up; an
        error of the `keeping` kind (the caller's mistake) leaves the run as it was."""
        try:
            yield
        except AgentkitError as exc:
            if keeping is None or not isinstance(exc, keeping):
                self._fail(recorder, run, exc)
            raise
        except asyncio.CancelledError:
            self._cancelled(recorder, run)
            raise

    def _cancelled(self, recorder: RunRecorder, run: RunResult) -> None:
        """Record that the caller cancelled the run, so its audit trail has an end."""
        run.status = "failed"
        run.error = RunError(type="Cancelled", message="the run was cancelled by its caller")
        run.ended_at = self._clock()
        with contextlib.suppress(AuditError):  # the cancellation goes on either way
            recorder.emit(ev.RunCancelled())

    def _fail(self, recorder: RunRecorder, run: RunResult, exc: AgentkitError) -> None:
        run.status = "failed"
        run.error = RunError(type=type(exc).__name__, message=str(exc))
        run.ended_at = self._clock()
        exc.run = run  # nothing is lost: the state rides on the error
        if not isinstance(exc, AuditError):
            recorder.emit(ev.RunFailed(error=run.error.type))

    # --- one turn of calls -----------------------------------------------------------------

    async def _handle_turn(
        self, recorder: RunRecorder, run: RunResult, calls: list[FunctionCall]
    ) -> None:
        check_call_ids(run, calls)
        runnable: list[tuple[Step, ValidCall]] = []
        for call in calls:
            step = self._new_step(recorder, run, call)
            valid = self._validate(recorder, run, step)
            if valid is not None and await self._gate(recorder, run, step, valid):
                runnable.append((step, valid))
        await self._execute_all(recorder, run, runnable)

    def _new_step(self, recorder: RunRecorder, run: RunResult, call: FunctionCall) -> Step:
        step = Step(
            call_id=call.call_id,
            tool=self._by_wire.get(call.name, call.name),
            turn=run.turn,
            raw_arguments=call.arguments,
            started_at=self._clock(),
        )
        run.steps.append(step)
        run.open_calls.append(call.call_id)
        recorder.call(step).emit(ev.CallRequested())
        return step

    def _validate(self, recorder: RunRecorder, run: RunResult, step: Step) -> ValidCall | None:
        checked = validate_call(self.tools, step.tool, step.raw_arguments, restorer(run))
        if isinstance(checked, Rejected):
            step.arguments = checked.parsed
            self._settle(step, checked.status, feedback(checked))
            recorder.call(step).emit(ev.CallInvalid(checked.error))
            self._count_error(run)
            return None
        step.arguments = checked.data
        recorder.call(step).emit(ev.CallValidated(checked.data))
        return checked

    async def _gate(
        self, recorder: RunRecorder, run: RunResult, step: Step, call: ValidCall
    ) -> bool:
        """Authorise and confirm one valid call. True when it may run now."""
        history = history_for(run, self.tools, now=self._clock(), recent=self._recent)
        decision = authorise(self.authoriser, self.limits, run, step.call_id, call, history)
        step.decision = decision
        recorder.call(step).emit(ev.CallDecided(decision.action, decision.rule, decision.reason))
        if decision.action == "allow":
            count_call(self._recent, run.principal.user_id, call.tool, self._clock())
            return True
        if decision.action == "deny":
            reason = f"Denied by policy ({decision.rule}): {decision.reason}"
            self._settle(step, "denied", reason)
            return False
        return await self._confirm(recorder, run, step, call, decision)

    async def _confirm(
        self, recorder: RunRecorder, run: RunResult, step: Step, call: ValidCall, decision: Decision
    ) -> bool:
        request = pending_approval(
            run.run_id,
            step.call_id,
            step.tool,
            call.data,
            reason=decision.reason,
            rule=decision.rule,
            now=self._clock(),
            sealer=self.sealer,
            approvers=decision.approvers or default_approvers([self.tools[step.tool].side_effect]),
        )
        calls = recorder.call(step)
        calls.emit(ev.ApprovalRequested(request.approval_id, decision.reason))
        if self.approver is None:
            run.pending.append(request)
            step.status = "awaiting_approval"
            return False
        answer = await ask(self.approver, request, self.config.approval_timeout)
        answer = self._inline_allowed(run, request, answer)
        self.ledger.consume(request.approval_id)
        run.consumed_approvals.append(request.approval_id)
        step.approver = self.approver.name
        calls.emit(
            ev.ApprovalDecided(request.approval_id, answer.approved, step.approver, answer.note)
        )
        if answer.approved:
            count_call(self._recent, run.principal.user_id, call.tool, self._clock())
            return True
        self._settle(step, "declined", DECLINED_MESSAGE)
        return False

    def _inline_allowed(
        self, run: RunResult, request: PendingApproval, answer: InlineAnswer
    ) -> InlineAnswer:
        """An inline approver decides under the same rules as anyone: an approval it may not
        give (its roles, the requester's own call, a rule needing more people) is a no."""
        approver = self.approver
        signer = Signer(
            user_id=str(getattr(approver, "name", "inline")),
            roles=tuple(getattr(approver, "roles", ())),
        )
        decision = ApprovalDecision._for(request, answer.approved, signer.user_id, answer.note)
        try:
            check_deciders(run, replace(decision, signers=(signer,)), request, self._clock())
        except ApprovalRefused as exc:
            return InlineAnswer(False, f"not approved: {exc}")
        return answer

    def _apply_decisions(
        self,
        recorder: RunRecorder,
        run: RunResult,
        decisions: list[ApprovalDecision],
        ledgers: list[ApprovalLedger],
    ) -> None:
        """Mark each answered call approved or declined; approved ones run once none is open."""
        answered = [(d, check_binding(run, d, self.sealer)) for d in decisions]
        for decision, pending in answered:  # every decision checked before any is applied
            check_deciders(run, decision, pending, self._clock())
        for decision, pending in answered:
            if not all(ledger.consume(pending.approval_id) for ledger in ledgers):
                raise ApprovalRefused(f"approval {pending.approval_id} was already used (replay)")
            run.pending.remove(pending)
            run.consumed_approvals.append(pending.approval_id)
            step = run.step(pending.call_id)
            step.approver = decision.approver
            recorder.call(step).emit(
                ev.ApprovalDecided(pending.approval_id, decision.approved, decision.approver)
            )
            if decision.approved:
                step.status = "approved"
            else:
                self._settle(step, "declined", DECLINED_MESSAGE)

    def _still_allowed(self, recorder: RunRecorder, run: RunResult) -> list[tuple[Step, ValidCall]]:
        """The approved calls of the open turn that the policy still allows, decided again now.

        An approval never widens what the policy allows when the call runs: a quota or a
        limit reached meanwhile (by the calls approved with it) denies it.
        """
        runnable: list[tuple[Step, ValidCall]] = []
        for step in (run.step(call_id) for call_id in run.open_calls):
            if step.status != "approved":
                continue
            call = self._rebuilt(step)
            history = history_for(
                run, self.tools, now=self._clock(), recent=self._recent, leaving_out=step.call_id
            )
            decision = authorise(self.authoriser, self.limits, run, step.call_id, call, history)
            if decision.action == "deny":
                step.decision = decision
                recorder.call(step).emit(
                    ev.CallDecided(decision.action, decision.rule, decision.reason)
                )
                self._settle(
                    step, "denied", f"Denied by policy ({decision.rule}): {decision.reason}"
                )
                continue
            count_call(self._recent, run.principal.user_id, call.tool, self._clock())
            runnable.append((step, call))
        return runnable

    def _kept(self, call: ValidCall, principal: Principal) -> tuple[str, float] | None:
        """The cache key and time to live of a read call whose results the policy keeps."""
        if call.tool.side_effect != "read":
            return None
        rule = getattr(self.authoriser, "result_cache", None)
        found = rule(call.tool.name) if rule is not None else None
        if found is None:
            return None
        ttl, shared = found
        return cache_key(principal, call.tool.name, call.arguments, shared), ttl

    def _rebuilt(self, step: Step) -> ValidCall:
        if step.arguments is None:
            raise RunStateError(f"the approved call {step.call_id} has no arguments")
        try:
            return ValidCall.again(self._tool_of(step), step.arguments)
        except ToolArgumentsInvalid as exc:
            raise RunStateError(f"the approved call {step.call_id} no longer fits: {exc}") from exc

    def _tool_of(self, step: Step) -> Tool:
        tool = self.tools.get(step.tool)
        if tool is None:
            raise RunStateError(
                f"the approved call {step.call_id} names {step.tool!r}, a tool "
                "this agent does not have; resume it with the agent that paused it"
            )
        return tool

    async def _execute_all(
        self, recorder: RunRecorder, run: RunResult, calls: list[tuple[Step, ValidCall]]
    ) -> None:
        if len(calls) == 1:
            await self._execute(recorder, run, *calls[0])
        elif calls:
            await asyncio.gather(*(self._execute(recorder, run, s, c) for s, c in calls))

    async def _execute(
        self, recorder: RunRecorder, run: RunResult, step: Step, call: ValidCall
    ) -> None:
        if recorder.checkpoints is not None and call.tool.side_effect != "read":
            await recorder.checkpoints.effect_starting(run, step)
        started = time.perf_counter()
        serving = CURRENT_CALL.set(
            CallContext(run.run_id, step.call_id, run.principal, _reporter(recorder, step))
        )
        within = recorder.spans.executing(step.call_id) if recorder.spans else _NO_CALL_SPAN
        ids = log_context(call_id=step.call_id, tool=step.tool)
        kept = self._kept(call, run.principal)
        result = self.result_cache.get(kept[0]) if kept else None
        step.cached = result is not None
        if step.cached:
            run.totals.tool_cache_hits += 1
        try:
            if result is None:
                with within, ids:
                    result = await execute(
                        call.tool, call.arguments, structure_cap=self.config.structure_cap
                    )
                if kept:
                    self.result_cache.put(kept[0], result, kept[1])
        finally:
            CURRENT_CALL.reset(serving)
        step.duration_ms = (time.perf_counter() - started) * 1000
        by_field = label_fields(result, call.tool.output_trust)
        labelled = label_output(
            call.tool.name, result.text, untrusted=by_field.untrusted, cap=self.config.output_cap
        )
        step.data, step.fields = result.data, by_field.fields
        step.untrusted = labelled.untrusted
        step.truncated = labelled.truncated or result.truncated
        step.citations = list(result.citations)
        step.metadata = dict(result.metadata)
        _add_tool_cost(run, step.metadata.get("cost_usd"))
        run.citations.extend(url for url in result.citations if url not in run.citations)
        if result.outcome != "ok":
            step.error = result.text
            step.error_type = result.error_type
        self._settle(step, result.outcome, labelled.text)
        recorder.call(step).emit(_ran_event(result, step, labelled.text))
        if result.outcome != "ok":
            self._count_error(run)  # after the record: a call that ran is on the record

    def _settle(self, step: Step, status: StepStatus, output: str) -> None:
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
        self.limits.check_tool_errors(run.run_id, run.tool_errors)


async def _checked_images(images: ImagesArg) -> Sequence[ImageInput]:
    """The run's images, checked; reading and parsing files happens off the event loop."""
    if not images and not isinstance(images, str | bytes):
        return ()  # a run without images, as ever (an empty str or bytes is refused)
    return await asyncio.to_thread(as_image_inputs, images)


def _add_tool_cost(run: RunResult, cost: Any) -> None:
    """A tool's own spend joins the run's cost (a negative, infinite or non-number figure
    is ignored: it could only hide spending)."""
    if isinstance(cost, int | float) and not isinstance(cost, bool) and 0 < cost < math.inf:
        run.totals.tool_cost_usd += cost
        run.totals.cost_usd += cost


def _reporter(recorder: RunRecorder, step: Step) -> Callable[[str, Mapping[str, Any]], None]:
    def report(stage: str, detail: Mapping[str, Any]) -> None:
        recorder.call(step).emit(ev.CallProgress(stage=stage, detail=dict(detail) or None))

    return report


def _ran_event(result: ToolOutcome, step: Step, output: str) -> ev.CallExecuted:
    kind = {"ok": ev.CallExecuted, "failed": ev.CallFailed, "timed_out": ev.CallTimedOut}
    return kind[result.outcome](
        duration_ms=round(step.duration_ms, 3),
        untrusted=step.untrusted,
        truncated=step.truncated,
        output=output,
        metadata=step.metadata or None,
        error_type=result.error_type,
        cached=True if step.cached else None,
    )


def authoriser_name(authoriser: Authoriser) -> str:
    """How the audit names what decides: a policy's files, bases first, or the class."""
    sources = getattr(authoriser, "sources", None)
    if isinstance(sources, tuple) and sources and all(isinstance(s, str) for s in sources):
        return ", ".join(sources)
    return type(authoriser).__name__
