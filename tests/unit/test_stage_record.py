"""Stage record: each audit event writes its fields plus the run's and the call's context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from agentkit.audit.records import KNOWN_EVENTS
from agentkit.decision import Principal
from agentkit.pipeline import record as ev
from agentkit.state import RunResult, Step


class Captured:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def record(self, event: str, fields: Mapping[str, Any]) -> None:
        self.records.append((event, dict(fields)))


def a_run(usage: list[dict[str, Any]] | None = None) -> RunResult:
    return RunResult(
        run_id="r1",
        agent="a",
        model="m",
        principal=Principal(user_id="ana"),
        turn=2,
        usage=usage or [],
    )


STEP = Step(call_id="c7", tool="lookup", turn=2, raw_arguments="{}")
RUN_CONTEXT = {"run_id": "r1", "turn": 2, "principal": "ana"}
CALL_CONTEXT = {**RUN_CONTEXT, "call_id": "c7", "tool": "lookup"}

EVENTS: list[tuple[ev.AuditEvent, str, dict[str, Any]]] = [
    (ev.RunStarted("desk", "grok"), "run.started", {"agent": "desk", "model": "grok"}),
    (
        ev.RunStarted("desk", "grok", {"sh": {"network": True}}),
        "run.started",
        {"agent": "desk", "model": "grok", "tool_facts": {"sh": {"network": True}}},
    ),
    (ev.RunResumed(), "run.resumed", {}),
    (ev.RunPaused(["apr_1"]), "run.paused", {"pending": ["apr_1"]}),
    (ev.RunCompleted(0.5), "run.ended", {"cost_usd": 0.5, "status": "completed"}),
    (ev.RunFailed("BudgetExceeded"), "run.ended", {"error": "BudgetExceeded", "status": "failed"}),
    (ev.ModelRequested("grok", 3), "model.request", {"model": "grok", "items": 3}),
    (
        ev.ModelResponded("req-1", "resp-1", "completed", 2, {"input_tokens": 5}),
        "model.response",
        {
            "request_id": "req-1",
            "response_id": "resp-1",
            "status": "completed",
            "calls": 2,
            "usage": {"input_tokens": 5},
        },
    ),
    (ev.CallRequested(), "call.requested", {}),
    (ev.CallValidated({"a": 1}), "call.validated", {"arguments": {"a": 1}}),
    (ev.CallInvalid("bad"), "call.invalid", {"error": "bad"}),
    (
        ev.CallDecided("deny", "tools.x", "no"),
        "call.decided",
        {"action": "deny", "rule": "tools.x", "reason": "no"},
    ),
    (
        ev.ApprovalRequested("apr_1", "destructive"),
        "approval.requested",
        {"approval_id": "apr_1", "reason": "destructive"},
    ),
    (
        ev.ApprovalDecided("apr_1", True, "ana"),
        "approval.decided",
        {"approval_id": "apr_1", "approved": True, "approver": "ana"},
    ),
    (
        ev.ApprovalDecided("apr_1", False, "bot", "timed out"),
        "approval.decided",
        {"approval_id": "apr_1", "approved": False, "approver": "bot", "note": "timed out"},
    ),
    (ev.ServerCallRan(), "call.executed", {"server_side": True}),
    (ev.CallProgress("pending"), "call.progress", {"stage": "pending"}),
    (
        ev.CallProgress("done", {"progress": 100}),
        "call.progress",
        {"stage": "done", "detail": {"progress": 100}},
    ),
    (
        ev.CallExecuted(1.5, True, False, "out"),
        "call.executed",
        {"duration_ms": 1.5, "untrusted": True, "truncated": False, "output": "out"},
    ),
    (
        ev.CallFailed(2.0, False, True, "err", {"k": 1}, "RuntimeError"),
        "call.failed",
        {
            "duration_ms": 2.0,
            "untrusted": False,
            "truncated": True,
            "output": "err",
            "metadata": {"k": 1},
            "error_type": "RuntimeError",
        },
    ),
    (
        ev.CallTimedOut(3.0, False, False, "late", error_type="ToolTimeout"),
        "call.timed_out",
        {
            "duration_ms": 3.0,
            "untrusted": False,
            "truncated": False,
            "output": "late",
            "error_type": "ToolTimeout",
        },
    ),
]


@pytest.mark.parametrize(("event", "name", "fields"), EVENTS)
def test_a_run_event_writes_its_fields_and_the_run_context(
    event: ev.AuditEvent, name: str, fields: dict[str, Any]
) -> None:
    audit = Captured()
    ev.RunRecorder(audit, a_run()).emit(event)  # type: ignore[arg-type]
    assert audit.records == [(name, {**fields, **RUN_CONTEXT})]


@pytest.mark.parametrize(("event", "name", "fields"), EVENTS)
def test_a_call_event_adds_the_call_and_tool(
    event: ev.AuditEvent, name: str, fields: dict[str, Any]
) -> None:
    audit = Captured()
    ev.RunRecorder(audit, a_run()).call(STEP).emit(event)  # type: ignore[arg-type]
    assert audit.records == [(name, {**fields, **CALL_CONTEXT})]


def test_records_name_the_request_of_the_latest_model_turn() -> None:
    audit = Captured()
    run = a_run([{"request_id": "req-1"}, {"request_id": "req-2"}])
    recorder = ev.RunRecorder(audit, run)  # type: ignore[arg-type]
    recorder.emit(ev.RunResumed())
    recorder.call(STEP).emit(ev.CallRequested())
    assert audit.records[0][1]["request_id"] == "req-2"
    assert audit.records[1][1]["request_id"] == "req-2"


def test_an_event_carrying_its_own_request_id_keeps_it() -> None:
    audit = Captured()
    run = a_run([{"request_id": "req-1"}])
    event = ev.ModelResponded("req-9", "resp", "completed", 0, {})
    ev.RunRecorder(audit, run).emit(event)  # type: ignore[arg-type]
    assert audit.records[0][1]["request_id"] == "req-9"


def test_every_event_name_is_a_known_event() -> None:
    assert {name for _, name, _ in EVENTS} <= KNOWN_EVENTS
    assert {name for _, name, _ in EVENTS} == KNOWN_EVENTS


@pytest.mark.parametrize(("event", "name", "fields"), EVENTS)
def test_an_events_fields_are_the_same_on_first_use_of_its_class(
    event: ev.AuditEvent, name: str, fields: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ev, "_SHAPES", {})
    assert event.fields() == fields
    assert event.fields() == fields


def test_the_shape_of_an_event_class_is_computed_once_and_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ev, "_SHAPES", {})
    first = ev._shape(ev.ApprovalDecided)
    assert first == (
        ("approval_id", False),
        ("approved", False),
        ("approver", False),
        ("note", True),
    )
    assert ev._shape(ev.ApprovalDecided) is first
    assert ev._shape(ev.CallDecided) is not first
