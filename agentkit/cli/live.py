"""Live progress of a CLI run: each call, decision, approval and output as it happens.

`LiveTranscript` is the run's event sink (`Agent.run(events=...)`): each `RunEvent` is
printed as one line, through `printable`, so nothing a model or a tool wrote steers the
terminal. An event is published only once the audit log stored its record, so what is
shown has been recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TextIO

from agentkit.events import RunEvent
from agentkit.terminal import printable
from agentkit.transcript import Transcript, use_colour

PREVIEW_CHARS = 160


class LiveTranscript:
    """Prints each event of a run as a progress line."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._paint = Transcript(colour=use_colour(stream)).paint
        self.mode: str | None = None
        """How the run talks to a model ("offline", "online"), shown in its first line."""
        self._mid_text = False
        self.streamed = False
        """Whether the answer's text was printed as it streamed."""

    def __call__(self, event: RunEvent) -> None:
        if event.type == "model.delta":  # the answer as it streams, on one line
            self._stream.write(printable(str(event.data.get("text", ""))))
            self._stream.flush()
            self._mid_text = True
            self.streamed = True
            return
        fields = {**event.data, "run_id": event.run_id, "tool": event.tool or ""}
        line = self._line(event.type, fields)
        if line is not None:
            if self._mid_text:
                self._stream.write("\n")
                self._mid_text = False
            self._stream.write(line + "\n")
            self._stream.flush()

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
