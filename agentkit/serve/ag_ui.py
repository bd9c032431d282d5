"""A run's events as AG-UI events (the `ag-ui-protocol` package), for copilot front ends.

The mapping: ``run.started``/``run.resumed`` -> RUN_STARTED; each validated call ->
TOOL_CALL_START, TOOL_CALL_ARGS, TOOL_CALL_END; its decision -> CUSTOM
``agentkit.decision``; its output -> TOOL_CALL_RESULT; streamed text -> TEXT_MESSAGE_*;
a pause -> RUN_FINISHED with an ``interrupt`` outcome (one interrupt per waiting call,
``id`` ``int-<call id>``, the approval id in its metadata); the end -> RUN_FINISHED
(success, the answer as result) or RUN_ERROR.

Approvals are not taken from the AG-UI stream's ``resume`` input: a client-submitted
approval proves nothing about who approved. Decide through ``POST /v1/approvals/{id}``
(the policy's approvers rules apply), then follow the stream again: the run continues.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    Interrupt,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from ag_ui.core.events import RunFinishedInterruptOutcome, RunFinishedSuccessOutcome
from ag_ui.encoder import EventEncoder


class AGUITranslator:
    """Turns one run's event records (as the service keeps them) into AG-UI events."""

    def __init__(self) -> None:
        self._encoder = EventEncoder()
        self._message: str | None = None
        self._texts = 0
        self._waiting: dict[str, str] = {}  # approval id -> call id
        self.content_type = self._encoder.get_content_type()

    def encode(self, record: dict[str, Any]) -> str:
        """The SSE text of every AG-UI event `record` maps to (with its ``id``)."""
        frames = [self._encoder.encode(event) for event in self.translate(record)]
        return "".join(f"id: {record['seq']}\n{frame}" for frame in frames)

    def translate(self, record: dict[str, Any]) -> Iterator[BaseEvent]:
        kind, run_id, data = record["type"], record["run_id"], record.get("data", {})
        call_id = record.get("call_id")
        if kind in ("run.started", "run.resumed"):
            yield RunStartedEvent(threadId=run_id, runId=run_id)
        elif kind == "model.delta":
            if self._message is None:
                self._texts += 1
                self._message = f"{run_id}-text-{self._texts}"
                yield TextMessageStartEvent(messageId=self._message, role="assistant")
            yield TextMessageContentEvent(messageId=self._message, delta=str(data.get("text", "")))
        elif kind == "model.response":
            yield from self._end_text()
        elif kind == "call.validated" and call_id:
            yield ToolCallStartEvent(toolCallId=call_id, toolCallName=str(record.get("tool")))
            arguments = json.dumps(data.get("arguments", {}), ensure_ascii=False)
            yield ToolCallArgsEvent(toolCallId=call_id, delta=arguments)
            yield ToolCallEndEvent(toolCallId=call_id)
        elif kind == "call.decided" and call_id:
            value = {
                "tool_call_id": call_id,
                **{k: data.get(k) for k in ("action", "rule", "reason")},
            }
            yield CustomEvent(name="agentkit.decision", value=value)
        elif kind == "approval.requested" and call_id:
            self._waiting[str(data.get("approval_id"))] = call_id
        elif kind in ("call.executed", "call.failed", "call.timed_out") and call_id:
            if "output" in data:
                yield ToolCallResultEvent(
                    messageId=f"{call_id}-result",
                    toolCallId=call_id,
                    content=str(data.get("output", "")),
                    role="tool",
                )
        elif kind == "run.paused":
            yield from self._end_text()
            interrupts = [
                Interrupt(
                    id=f"int-{self._waiting.get(str(a), str(a))}",
                    reason="tool_call",
                    toolCallId=self._waiting.get(str(a)),
                    metadata={"approval_id": a, "decide": f"/v1/approvals/{a}"},
                )
                for a in data.get("pending", [])
            ]
            if interrupts:
                yield RunFinishedEvent(
                    threadId=run_id,
                    runId=run_id,
                    outcome=RunFinishedInterruptOutcome(interrupts=interrupts),
                )
        elif kind == "run.result":
            yield from self._end(record, run_id)

    def _end(self, record: dict[str, Any], run_id: str) -> Iterator[BaseEvent]:
        state = record.get("result") or {}
        status = state.get("status")
        if status == "completed":
            output = state.get("output")
            if self._texts == 0 and output:  # not streamed: the answer as one message
                self._texts += 1
                message = f"{run_id}-text-1"
                yield TextMessageStartEvent(messageId=message, role="assistant")
                yield TextMessageContentEvent(messageId=message, delta=str(output))
                yield TextMessageEndEvent(messageId=message)
            yield RunFinishedEvent(
                threadId=run_id, runId=run_id, result=output, outcome=RunFinishedSuccessOutcome()
            )
        elif status == "failed":
            error = state.get("error") or {}
            yield RunErrorEvent(message=str(error.get("message", "the run failed")),
                                code=str(error.get("type", "RunFailed")))  # fmt: skip

    def _end_text(self) -> Iterator[BaseEvent]:
        if self._message is not None:
            yield TextMessageEndEvent(messageId=self._message)
            self._message = None
