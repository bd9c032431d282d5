"""Stage record: one typed audit event per stage transition, bound to its run and call.

Every record carries the run's context (``run_id``, ``turn``, ``principal``, and the
``request_id`` of the model turn that led to it); a call's records also carry ``call_id``
and ``tool``. The event classes below are the whole vocabulary the runner writes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from agentkit.audit.chain import AuditRecorder
from agentkit.audit.redact import Redactor
from agentkit.events import EventSink, RunEvent, split_context
from agentkit.pipeline.checkpoints import Checkpoints
from agentkit.state import RunResult, Step
from agentkit.telemetry.logs import get_logger, log_context
from agentkit.telemetry.run_spans import RunSpans


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Base of the runner's audit events; an optional field left None is not written."""

    name: ClassVar[str]

    def fields(self) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for name, optional in _shape(type(self)):
            value = getattr(self, name)
            if value is not None or not optional:
                record[name] = value
        return record


_SHAPES: dict[type[AuditEvent], tuple[tuple[str, bool], ...]] = {}


def _shape(kind: type[AuditEvent]) -> tuple[tuple[str, bool], ...]:
    """Each field's name, and whether it is optional (default None: omitted when None)."""
    shape = _SHAPES.get(kind)
    if shape is None:
        shape = _SHAPES[kind] = tuple((f.name, f.default is None) for f in fields(kind))
    return shape


@dataclass(frozen=True, slots=True)
class RunStarted(AuditEvent):
    name = "run.started"
    agent: str
    model: str
    tool_facts: dict[str, dict[str, Any]] | None = None
    policy: str | None = None
    """What decides the run's calls: the policy's files (``agentkit:default`` for an
    agent given none), or the authoriser's class."""
    images: list[dict[str, Any]] | None = None
    """The images given with the prompt, described (`ImageInput.metadata`), never their
    bytes; left out of a run given none."""
    called_by: str | None = None
    """Who made the run's one call, when not a model (``mcp``); left out otherwise."""
    earlier_calls: int | None = None
    """How many of that client's earlier calls its decisions see (`Runner.call_tool`)."""


@dataclass(frozen=True, slots=True)
class RunResumed(AuditEvent):
    name = "run.resumed"
    reason: str | None = None
    """Why, when not a decision on its approvals (``continued``: its process stopped)."""


@dataclass(frozen=True, slots=True)
class RunPaused(AuditEvent):
    name = "run.paused"
    pending: list[str]


@dataclass(frozen=True, slots=True)
class RunCompleted(AuditEvent):
    name = "run.ended"
    cost_usd: float
    status: str = "completed"
    grounding: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RunFailed(AuditEvent):
    name = "run.ended"
    error: str
    status: str = "failed"


@dataclass(frozen=True, slots=True)
class RunCancelled(AuditEvent):
    """The caller cancelled the run (left `Agent.stream` early, cancelled its task)."""

    name = "run.ended"
    status: str = "cancelled"


@dataclass(frozen=True, slots=True)
class ModelRequested(AuditEvent):
    name = "model.request"
    model: str
    items: int


@dataclass(frozen=True, slots=True)
class ModelResponded(AuditEvent):
    name = "model.response"
    request_id: str | None
    response_id: str
    status: str
    calls: int
    usage: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallRequested(AuditEvent):
    name = "call.requested"


@dataclass(frozen=True, slots=True)
class CallValidated(AuditEvent):
    name = "call.validated"
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallInvalid(AuditEvent):
    name = "call.invalid"
    error: str


@dataclass(frozen=True, slots=True)
class CallDecided(AuditEvent):
    name = "call.decided"
    action: str
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class ApprovalRequested(AuditEvent):
    name = "approval.requested"
    approval_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ApprovalDecided(AuditEvent):
    name = "approval.decided"
    approval_id: str
    approved: bool
    approver: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ServerCallRan(AuditEvent):
    """A server-side tool (web_search, x_search) that xAI ran during a model turn."""

    name = "call.executed"
    server_side: bool = True
    citations: list[str] | None = None
    """What a server-side search over collections found (``file:<id>``)."""


@dataclass(frozen=True, slots=True)
class CallExecuted(AuditEvent):
    """A tool body finished; `CallFailed` and `CallTimedOut` when it did not succeed."""

    name = "call.executed"
    duration_ms: float
    untrusted: bool
    truncated: bool
    output: str
    metadata: dict[str, Any] | None = None
    error_type: str | None = None
    cached: bool | None = None
    """True: the policy kept this read tool's result, and it was served again."""


@dataclass(frozen=True, slots=True)
class CallProgress(AuditEvent):
    """A long call said how it is going (a video job's state), through
    `agentkit.call_context.report_progress`."""

    name = "call.progress"
    stage: str
    detail: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CallFailed(CallExecuted):
    name = "call.failed"


@dataclass(frozen=True, slots=True)
class CallTimedOut(CallExecuted):
    name = "call.timed_out"


_LOG = logging.getLogger("agentkit.run")
_LEVELS = {"call.failed": logging.WARNING, "call.timed_out": logging.WARNING,
           "call.invalid": logging.INFO, "approval.requested": logging.INFO,
           "approval.decided": logging.INFO, "run.paused": logging.INFO}  # fmt: skip
_SAID = ("status", "action", "rule", "approved", "approver", "error_type")


def _log_record(name: str, record: dict[str, Any]) -> None:
    """A diagnostic line per record: what happened and to which call, never its content
    (arguments, outputs and prompts are the audit log's)."""
    level = _LEVELS.get(name, logging.DEBUG)
    if name == "call.decided" and record.get("action") == "deny":
        level = logging.INFO
    elif name == "run.ended" and record.get("status") != "completed":
        level = logging.WARNING
    if not _LOG.isEnabledFor(level):
        return
    said = {key: record[key] for key in _SAID if key in record}
    ids = {key: record.get(key) for key in ("call_id", "tool", "request_id")}
    with log_context(**{k: str(v) for k, v in ids.items() if v is not None}):
        logger = get_logger("agentkit.run")
        if said:
            logger.log(level, "%s %s", name, said, extra={"event": name})
        else:
            logger.log(level, "%s", name, extra={"event": name})


class RunRecorder:
    """Writes the events of one run to an `AuditRecorder`, adding the run's context, and
    hands each one, once stored, to the run's event sink (`Agent.stream`)."""

    __slots__ = ("_audit", "_events", "_pending_text", "_redactor", "_run", "_seq", "checkpoints",
                 "spans")  # fmt: skip

    def __init__(
        self,
        audit: AuditRecorder,
        run: RunResult,
        events: EventSink | None = None,
        checkpoints: Checkpoints | None = None,
        spans: RunSpans | None = None,
    ) -> None:
        self.checkpoints = checkpoints
        self.spans = spans
        """The run's spans and measurements (`agentkit.telemetry`), fed every record."""
        """Told of the run's safe points (`agentkit.pipeline.checkpoints`)."""
        self._audit = audit
        self._run = run
        self._events = events
        self._redactor: Redactor | None = None
        self._seq = 0
        self._pending_text = ""

    @property
    def publishes(self) -> bool:
        """Whether anyone listens to this run's events."""
        return self._events is not None

    def text(self, delta: str) -> None:
        """Part of the answer as it streams in: published as ``model.delta`` (not audited:
        the audit records the response, not its pieces), up to the last whitespace, so a
        secret split across deltas is whole when the redactor sees it."""
        buffered = self._pending_text + delta
        cut = max(buffered.rfind(" "), buffered.rfind("\n"), buffered.rfind("\t"))
        if cut < 0:
            self._pending_text = buffered
            return
        self._pending_text = buffered[cut + 1 :]
        self._publish("model.delta", self._context({"text": buffered[: cut + 1]}))

    def end_text(self) -> None:
        """The answer's last piece, once the response is complete."""
        if self._pending_text:
            rest, self._pending_text = self._pending_text, ""
            self._publish("model.delta", self._context({"text": rest}))

    def emit(self, event: AuditEvent, step: Step | None = None) -> None:
        """Write `event` for the run (and `step`, when it is one call's); raises
        AuditWriteFailed when the log cannot take it, and then nothing is published."""
        record = self._context(event.fields(), step)
        self._audit.record(event.name, record)
        if self._events is not None:
            self._publish(event.name, record)
        _log_record(event.name, record)
        spans = self.spans
        if spans is not None:
            # spans see what the audit log shows; measurements need only names and rules
            spans.recorded(event.name, self._redacted(record) if spans.recording else record)

    def _redacted(self, record: dict[str, Any]) -> dict[str, Any]:
        if self._redactor is None:
            # the audit log's own rules, so an event never shows what the log hides
            found = getattr(self._audit, "redactor", None)
            self._redactor = found if isinstance(found, Redactor) else Redactor()
        clean: dict[str, Any] = self._redactor.redact(record, include_prompts=True)
        return clean

    def _publish(self, name: str, record: dict[str, Any]) -> None:
        clean = self._redacted(record)
        context, data = split_context(clean)
        self._seq += 1
        assert self._events is not None
        self._events(
            RunEvent(
                type=name,  # type: ignore[arg-type]  # the runner writes only EventType names
                run_id=self._run.run_id,
                seq=self._seq,
                turn=int(context.get("turn", 0)),
                call_id=context.get("call_id"),
                tool=context.get("tool"),
                data=data,
            )
        )

    def call(self, step: Step) -> CallRecorder:
        """A recorder bound to one call of this run."""
        return CallRecorder(self, step)

    def _context(self, record: dict[str, Any], step: Step | None = None) -> dict[str, Any]:
        run = self._run
        record["run_id"] = run.run_id
        record["turn"] = run.turn
        record["principal"] = run.principal.user_id
        if step is not None:
            record["call_id"] = step.call_id
            record["tool"] = step.tool
        if run.usage and "request_id" not in record:
            record["request_id"] = run.usage[-1]["request_id"]  # the turn that led here
        return record


class CallRecorder:
    """Writes the events of one call, adding the run's and the call's context."""

    __slots__ = ("_run", "_step")

    def __init__(self, run: RunRecorder, step: Step) -> None:
        self._run = run
        self._step = step

    def emit(self, event: AuditEvent) -> None:
        self._run.emit(event, self._step)
