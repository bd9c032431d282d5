"""A readable transcript of a run: calls, arguments, decisions, outputs, usage and cost.

Every value that comes from a run (the model's text, arguments, tool outputs, reasons,
errors) is shown through `agentkit.terminal.printable`: a transcript never carries a
control sequence it did not write itself.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from agentkit.canonical import canonical_json
from agentkit.state import RunResult, Step
from agentkit.terminal import PrintableStream, printable

_COLOURS = {
    "dim": "2",
    "bold": "1",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}
_STATUS_COLOUR = {
    "ok": "green",
    "denied": "red",
    "declined": "red",
    "failed": "red",
    "timed_out": "red",
    "invalid": "yellow",
    "unknown_tool": "yellow",
    "awaiting_approval": "magenta",
    "approved": "magenta",
    "pending": "dim",
}
PREVIEW_CHARS = 240


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return stream.isatty() and "NO_COLOR" not in os.environ


class Transcript:
    def __init__(self, *, colour: bool = False, preview_chars: int = PREVIEW_CHARS) -> None:
        self.colour = colour
        self.preview_chars = preview_chars

    def paint(self, text: str, colour: str) -> str:
        if not self.colour:
            return text
        return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"

    def render(self, run: RunResult, *, prompt: str | None = None, mode: str | None = None) -> str:
        lines: list[str] = []
        header = (
            f"{printable(run.agent)} · {printable(run.model)} · run {printable(run.run_id[:12])}"
        )
        if mode:
            header += f" · {printable(mode)}"
        lines.append(self.paint(header, "bold"))
        if prompt is None and run.user_messages:
            prompt = run.user_messages[0]
        if prompt is not None:
            lines.append(f"{self.paint('user', 'cyan')}  {printable(prompt)}")
        for step in run.steps:
            lines.extend(self._step(step))
        lines.extend(self.ending(run))
        return "\n".join(lines)

    def ending(self, run: RunResult, *, answer: bool = True) -> list[str]:
        """What follows the steps: pending approvals, sources, the answer or the error, and
        the usage line (all a live run has not printed as it went); `answer` False when
        the answer was streamed out already."""
        lines: list[str] = []
        for pending in run.pending:
            lines.append(
                self.paint("  awaiting approval ", "magenta")
                + printable(f"{pending.approval_id} for {pending.tool}: {pending.reason}")
            )
        if run.citations:
            lines.append(self.paint("sources (untrusted: cited by the model)", "blue"))
            lines.extend(f"  [{i}] {printable(url)}" for i, url in enumerate(run.citations, 1))
        if run.output is not None and answer:
            lines.append(f"{self.paint('answer', 'green')}  {printable(run.output)}")
        if run.error is not None:
            error = f"error  {printable(run.error.type)}: {printable(run.error.message)}"
            lines.append(self.paint(error, "red"))
        lines.append(self._usage(run))
        return lines

    def _step(self, step: Step) -> list[str]:
        arguments = (
            canonical_json(step.arguments) if step.arguments is not None else step.raw_arguments
        )
        status = self.paint(printable(step.status), _STATUS_COLOUR.get(step.status, "dim"))
        call = printable(f"{step.tool}({arguments})")
        head = f"{self.paint('call', 'blue')}  {call} -> {status}"
        if step.duration_ms:
            head += self.paint(f"  {step.duration_ms:.1f} ms", "dim")
        lines = [head]
        if step.decision is not None:
            d = step.decision
            decision = f"{printable(d.action)} [{printable(d.rule)}] {printable(d.reason)}"
            if step.approver:
                decision += f"; decided by {printable(step.approver)}"
            lines.append(self.paint(f"  decision  {decision}", "dim"))
        if step.status == "server":
            lines.append(
                "  output (untrusted)  run by xAI; its results reached the model as sources"
            )
        if step.output is not None and step.status not in ("awaiting_approval",):
            label = " (untrusted)" if step.untrusted else ""
            truncated = " (truncated)" if step.truncated else ""
            lines.append(f"  output{label}{truncated}  {printable(self._preview(step.output))}")
        lines.extend(self._media(step))
        return lines

    def _media(self, step: Step) -> list[str]:
        """One line per file a media tool stored: where, what, and that AI made it."""
        lines = []
        for kept in step.metadata.get("media") or []:
            if not isinstance(kept, dict):
                continue
            made = kept.get("provenance") or {}
            what = f"{kept.get('media_type')} {kept.get('location')}"
            how = f"{made.get('label', '')}, {made.get('model')}, sha256 {kept.get('sha256')}"
            lines.append(self.paint(f"  media  {printable(what)} ({printable(how)})", "green"))
        return lines

    def _preview(self, text: str) -> str:
        flat = " ".join(text.split())
        if len(flat) <= self.preview_chars:
            return flat
        return flat[: self.preview_chars] + "…"

    def _usage(self, run: RunResult) -> str:
        t = run.totals
        return self.paint(
            f"status {run.status} · {t.requests} requests · {t.input_tokens} in / "
            f"{t.output_tokens} out tokens ({t.reasoning_tokens} reasoning, {t.cached_tokens} "
            f"cached) · ${t.cost_usd:.6f}",
            "dim",
        )


def print_transcript(
    run: RunResult,
    *,
    prompt: str | None = None,
    mode: str | None = None,
    stream: TextIO | None = None,
) -> None:
    out = stream or sys.stdout
    if isinstance(out, PrintableStream):
        out = out.target  # the transcript shows every value through printable itself
    out.write(Transcript(colour=use_colour(out)).render(run, prompt=prompt, mode=mode) + "\n")
