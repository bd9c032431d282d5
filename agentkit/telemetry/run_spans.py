"""The spans of one run: ``invoke_agent`` around it, ``chat`` around each model request,
``execute_tool`` for each call, built from the same records the audit log takes.

A call's span opens when the model asks for the call and closes when the call settles
(ran, failed, was denied, declined or left awaiting approval), so the decision, its rule
and the approval are on it; while the tool body runs, its span is the current one, so a
tool's own spans (a database driver's, an HTTP client's) nest under it. A run that pauses
for approval ends its spans; the run that resumes it opens new ones in the same trace
only if the caller's context carries it.

With a tracer that does not record (no SDK configured), nothing is built.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from agentkit.telemetry.instruments import Instruments, instruments_for
from agentkit.telemetry.settings import PROVIDER, TelemetrySettings

_ENDS_CALL = {"call.executed", "call.failed", "call.timed_out", "call.invalid"}


class ChatSpan:
    """One model request's span; `answered` fills it from the answer."""

    def __init__(self, span: Span, instruments: Instruments, request_model: str) -> None:
        self.span = span
        self._instruments = instruments
        self._model = request_model
        self.started = time.perf_counter()
        self.done = False

    def answered(self, *, response_id: str, response_model: str, status: str,
                 usage: Mapping[str, Any]) -> None:  # fmt: skip
        """The answer's id, model, status and usage (the usage record's fields)."""
        self.done = True
        tokens_in, tokens_out = (
            int(usage.get("input_tokens", 0)),
            int(usage.get("output_tokens", 0)),
        )
        self._instruments.model_answered(
            request_model=self._model, response_model=response_model, input_tokens=tokens_in,
            output_tokens=tokens_out, seconds=time.perf_counter() - self.started,
        )  # fmt: skip
        span = self.span
        if not span.is_recording():
            return
        span.set_attributes({
            "gen_ai.response.id": response_id,
            "gen_ai.response.model": response_model,
            "gen_ai.response.finish_reasons": [status],
            "gen_ai.usage.input_tokens": tokens_in,
            "gen_ai.usage.output_tokens": tokens_out,
            "gen_ai.usage.reasoning.output_tokens": int(usage.get("reasoning_tokens", 0)),
            "gen_ai.usage.cache_read.input_tokens": int(usage.get("cached_tokens", 0)),
            "agentkit.request.id": str(usage.get("request_id", "")),
            "agentkit.cost_usd": float(usage.get("cost_usd", 0.0)),
        })  # fmt: skip
        if (queued := usage.get("queued_ms")) is not None:
            span.set_attribute("agentkit.queued_ms", float(queued))
        attempts = int(usage.get("attempts", 1))
        if attempts > 1:
            span.add_event("agentkit.model.retried", {"agentkit.attempts": attempts})
        route = usage.get("route")
        if isinstance(route, Mapping):
            span.set_attribute("agentkit.route.rule", str(route.get("rule", "")))
            for failure in route.get("failed") or ():
                span.add_event("agentkit.model.fallback", {
                    "gen_ai.request.model": str(failure.get("model", "")),
                    "agentkit.fallback.reason": str(failure.get("reason", "")),
                    "error.type": str(failure.get("error", "")),
                })  # fmt: skip


class RunSpans:
    """The spans of one run (one `Runner` entry: start, resume or continue)."""

    def __init__(self, settings: TelemetrySettings, *, agent: str, run_id: str, model: str,
                 roles: tuple[str, ...] = (), tracer: trace.Tracer | None = None,
                 instruments: Instruments | None = None) -> None:  # fmt: skip
        """``tracer`` and ``instruments``: the settings' own, made once by the caller (a
        runner makes them once for all its runs)."""
        self.settings = settings
        self.instruments = instruments or instruments_for(settings)
        self._tracer = tracer or settings.tracer()
        self._agent, self._run_id, self._model, self._roles = agent, run_id, model, roles
        self._run_span: Span = trace.INVALID_SPAN
        self._calls: dict[str, Span] = {}
        self._server_side: set[str] = set()
        self.recording = False
        """Whether the run's span records (an SDK is set): else only measurements are made."""

    @contextlib.contextmanager
    def run(self, entry: str) -> Iterator[Span]:
        """The ``invoke_agent`` span around one entry into the run, current inside."""
        # attributes are set once the span is known to record: none are built for a no-op
        span = self._tracer.start_span(f"invoke_agent {self._agent}", kind=SpanKind.INTERNAL)
        self._run_span = span
        self.recording = span.is_recording()
        if not self.recording:  # a no-op tracer: nothing to make current or to end
            yield span
            return
        span.set_attributes({
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.provider.name": PROVIDER,
                "gen_ai.agent.name": self._agent,
                "gen_ai.conversation.id": self._run_id,
                "gen_ai.request.model": self._model,
                "agentkit.run.id": self._run_id,
                "agentkit.run.entry": entry,
                "agentkit.principal.roles": list(self._roles),
        })  # fmt: skip
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False,
                                set_status_on_exception=False):  # fmt: skip
                yield span
        except BaseException as exc:
            _failed(span, exc)
            raise
        finally:
            for call_id in list(self._calls):
                self._end_call(call_id, "interrupted")
            span.end()

    def run_ended(self, status: str, totals: Mapping[str, Any]) -> None:
        """The run's status and its summed usage (``gen_ai.aggregated_usage.*``: the chat
        spans carry each request's, so these are not double counted)."""
        span = self._run_span
        if not span.is_recording():
            return
        span.set_attributes({
            "agentkit.run.status": status,
            "gen_ai.aggregated_usage.input_tokens": int(totals.get("input_tokens", 0)),
            "gen_ai.aggregated_usage.output_tokens": int(totals.get("output_tokens", 0)),
            "gen_ai.aggregated_usage.cache_read.input_tokens": int(totals.get("cached_tokens", 0)),
            "agentkit.cost_usd": float(totals.get("cost_usd", 0.0)),
        })  # fmt: skip
        if status == "failed":
            span.set_status(Status(StatusCode.ERROR))

    @contextlib.contextmanager
    def chat(self, request_model: str, *, stream: bool) -> Iterator[ChatSpan]:
        """The ``chat`` span around one model request (its retries and fallbacks inside)."""
        if not self.recording:
            yield from self._measured_only(request_model)
            return
        span = self._tracer.start_span(
            f"chat {request_model}", kind=SpanKind.CLIENT,
            attributes={"gen_ai.operation.name": "chat", "gen_ai.provider.name": PROVIDER,
                        "gen_ai.request.model": request_model, "gen_ai.request.stream": stream,
                        "gen_ai.conversation.id": self._run_id},
        )  # fmt: skip
        chat = ChatSpan(span, self.instruments, request_model)
        started = time.perf_counter()
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False,
                                set_status_on_exception=False):  # fmt: skip
                yield chat
        except BaseException as exc:
            _failed(span, exc)
            self.instruments.model_answered(
                request_model=request_model, response_model="", input_tokens=0,
                output_tokens=0, seconds=time.perf_counter() - started,
                error=type(exc).__name__,
            )  # fmt: skip
            raise
        finally:
            span.end()

    def _measured_only(self, request_model: str) -> Iterator[ChatSpan]:
        chat = ChatSpan(trace.INVALID_SPAN, self.instruments, request_model)
        try:
            yield chat
        except BaseException as exc:
            self.instruments.model_answered(
                request_model=request_model, response_model="", input_tokens=0,
                output_tokens=0, seconds=time.perf_counter() - chat.started,
                error=type(exc).__name__,
            )  # fmt: skip
            raise

    @contextlib.contextmanager
    def executing(self, call_id: str) -> Iterator[None]:
        """The call's span is current while its tool body runs."""
        span = self._calls.get(call_id)
        if span is None:
            yield
            return
        with trace.use_span(span, end_on_exit=False, record_exception=False,
                            set_status_on_exception=False):  # fmt: skip
            yield

    def recorded(self, name: str, record: Mapping[str, Any]) -> None:
        """One audit record of the run (redacted by the audit's rules)."""
        call_id = record.get("call_id")
        if name == "call.decided":
            self.instruments.decided(str(record.get("tool")), str(record.get("action")),
                                     str(record.get("rule")))  # fmt: skip
        elif name == "approval.requested":
            self.instruments.approvals_pending.add(1)
        elif name == "approval.decided":
            self.instruments.approvals_pending.add(-1)
        if not self.recording:
            return
        if name == "run.paused":
            for open_call in list(self._calls):
                self._end_call(open_call, "awaiting_approval")
            return
        if not isinstance(call_id, str):
            return
        span = self._calls.get(call_id)
        if span is None:
            span = self._open_call(call_id, record, name)
        self._annotate(span, name, record)
        server_side = call_id in self._server_side
        if name in _ENDS_CALL or (not server_side and _settles(name, record)):
            self._server_side.discard(call_id)
            self._end_call(call_id, _call_status(name, record))

    def _open_call(self, call_id: str, record: Mapping[str, Any], name: str) -> Span:
        tool = str(record.get("tool"))
        # a server-side tool's call is first heard of when it is decided (xAI ran it)
        server_side = name == "call.decided" or record.get("server_side") is True
        if server_side:
            self._server_side.add(call_id)
        context = trace.set_span_in_context(self._run_span)
        span = self._tracer.start_span(
            f"execute_tool {tool}", context=context, kind=SpanKind.INTERNAL,
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool,
                        "gen_ai.tool.call.id": call_id,
                        "gen_ai.tool.type": "extension" if server_side else "function"},
        )  # fmt: skip
        if name != "call.requested":
            span.set_attribute("agentkit.call.continued", True)
        self._calls[call_id] = span
        return span

    def _annotate(self, span: Span, name: str, record: Mapping[str, Any]) -> None:
        if name == "call.validated" and self.settings.capture_content:
            span.set_attribute("gen_ai.tool.call.arguments", self._content(record.get("arguments")))
        elif name == "call.invalid":
            span.set_attribute("error.type", "invalid_arguments")
            span.set_status(Status(StatusCode.ERROR, str(record.get("error", ""))[:200]))
        elif name == "call.decided":
            span.set_attributes({"agentkit.decision.action": str(record.get("action")),
                                 "agentkit.decision.rule": str(record.get("rule"))})  # fmt: skip
        elif name == "approval.requested":
            span.set_attribute("agentkit.approval.id", str(record.get("approval_id")))
            span.add_event("agentkit.approval.requested",
                           {"agentkit.approval.id": str(record.get("approval_id"))})  # fmt: skip
        elif name == "approval.decided":
            approved = bool(record.get("approved"))
            span.set_attributes(
                {
                    "agentkit.approval.approved": approved,
                    "agentkit.approval.approver": str(record.get("approver")),
                }
            )
            span.add_event("agentkit.approval.decided", {"agentkit.approval.approved": approved})
        elif name == "call.progress":
            span.add_event("agentkit.call.progress", {"agentkit.stage": str(record.get("stage"))})
        elif name in ("call.executed", "call.failed", "call.timed_out"):
            self._executed(span, name, record)

    def _executed(self, span: Span, name: str, record: Mapping[str, Any]) -> None:
        span.set_attributes({"agentkit.call.untrusted": bool(record.get("untrusted")),
                             "agentkit.call.cached": bool(record.get("cached"))})  # fmt: skip
        if self.settings.capture_content and "output" in record:
            span.set_attribute("gen_ai.tool.call.result", self._content(record.get("output")))
        if name != "call.executed":
            error = str(record.get("error_type") or ("ToolTimeout" if "timed" in name else "error"))
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR))

    def _content(self, value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value, default=str,
                                                               ensure_ascii=False)  # fmt: skip
        return text[: self.settings.max_content_chars]

    def _end_call(self, call_id: str, status: str) -> None:
        span = self._calls.pop(call_id, None)
        if span is not None:
            span.set_attribute("agentkit.call.status", status)
            span.end()


def _settles(name: str, record: Mapping[str, Any]) -> bool:
    """A record after which nothing more happens to the call in this entry."""
    if name == "call.decided":
        return record.get("action") == "deny"
    return name == "approval.decided" and not record.get("approved")


def _call_status(name: str, record: Mapping[str, Any]) -> str:
    if name == "call.decided":
        return "denied"
    if name == "approval.decided":
        return "declined"
    return {"call.executed": "ok", "call.failed": "failed", "call.timed_out": "timed_out",
            "call.invalid": "invalid"}[name]  # fmt: skip


def _failed(span: Span, exc: BaseException) -> None:
    if span.is_recording():
        span.set_attribute("error.type", type(exc).__name__)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
