"""Live progress of a CLI run: each call, decision, approval and output as it happens.

A `LiveRecorder` stands between the runner and the audit log: every record the runner
writes is printed as one line (through `printable`, so nothing a model or a tool wrote
steers the terminal) and then handed to the log. The log is written first: a record the
log refused is never shown as having happened.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TextIO

from agentkit.audit.chain import AuditRecorder
from agentkit.terminal import printable
from agentkit.transcript import Transcript, use_colour

PREVIEW_CHARS = 160


class LiveRecorder:
    """An `AuditRecorder` that prints each record as a progress line, then stores it."""

    def __init__(self, inner: AuditRecorder | None, stream: TextIO) -> None:
        self._inner = inner
        self._stream = stream
        self._paint = Transcript(colour=use_colour(stream)).paint
        self.mode: str | None = None
        """How the run talks to a model ("offline", "online"), shown in its first line."""

    def record(self, event: str, fields: Mapping[str, Any]) -> None:
        if self._inner is not None:
            self._inner.record(event, fields)
        line = self._line(event, fields)
        if line is not None:
            self._stream.write(line + "\n")
            self._stream.flush()

    def spent_approvals(self, run_id: str) -> dict[str, int] | None:
        """The log's record of used approvals (the runner's witness against old states)."""
        return _spent(self._inner, run_id)

    def _line(self, event: str, f: Mapping[str, Any]) -> str | None:
        tool = printable(str(f.get("tool", "")))
        if event == "run.started":
            head = f"{f.get('agent')} · {f.get('model')} · run {str(f.get('run_id', ''))[:12]}"
            if self.mode:
                head += f" · {self.mode}"
            return self._paint(printable(head), "bold")
        if event == "model.request":
            return self._paint(f"… asking {printable(str(f.get('model', '')))}", "dim")
        if event == "call.validated":
            arguments = json.dumps(f.get("arguments"), ensure_ascii=False, sort_keys=True)
            return f"{self._paint('call', 'blue')}  {tool}({printable(self._cut(arguments))})"
        if event == "call.invalid":
            return self._paint(f"  invalid  {tool}: {printable(str(f.get('error', '')))}", "yellow")
        if event == "call.decided":
            decision = f"{f.get('action')} [{f.get('rule')}] {f.get('reason', '')}"
            return self._paint(f"  decision  {printable(decision)}", "dim")
        if event == "approval.requested":
            text = f"  awaiting approval  {f.get('approval_id')}: {f.get('reason', '')}"
            return self._paint(printable(text), "magenta")
        if event == "approval.decided":
            verdict = "approved" if f.get("approved") else "declined"
            text = f"  {verdict} by {f.get('approver')} ({f.get('approval_id')})"
            return self._paint(printable(text), "magenta")
        if event in ("call.executed", "call.failed", "call.timed_out"):
            label = " (untrusted)" if f.get("untrusted") else ""
            output = printable(self._cut(" ".join(str(f.get("output", "")).split())))
            colour = "green" if event == "call.executed" else "red"
            return f"  {self._paint(f'output of {tool}{label}', colour)}  {output}"
        if event == "run.paused":
            return self._paint("paused: waiting for a person's decision", "magenta")
        if event == "run.resumed":
            return self._paint("resumed", "dim")
        return None

    @staticmethod
    def _cut(text: str) -> str:
        return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


def _spent(inner: AuditRecorder | None, run_id: str) -> dict[str, int] | None:
    spent = getattr(inner, "spent_approvals", None)
    return spent(run_id) if callable(spent) else None
