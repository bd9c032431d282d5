"""Test helpers: an audit log that keeps its records in memory.

Example:
    >>> with capture_audit() as audit:
    ...     audit.record("run.started", {"run_id": "r1"})
    >>> audit.events
    ['run.started']
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agentkit.audit.chain import AuditLog
from agentkit.audit.redact import Redactor
from agentkit.audit.sinks import MemorySink
from agentkit.audit.verify import VerifyResult, verify_lines


class CapturedAudit(AuditLog):
    """An AuditLog over a MemorySink, with accessors for assertions."""

    def __init__(self, *, redactor: Redactor | None = None, include_prompts: bool = False) -> None:
        self.memory = MemorySink()
        super().__init__(self.memory, redactor=redactor, include_prompts=include_prompts)

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every record as stored (parsed), in order."""
        return [json.loads(line) for line in self.memory.lines]

    @property
    def events(self) -> list[str]:
        """The event names, in order."""
        return [record.event for record in self.memory.records]

    def fields_of(self, event: str) -> list[dict[str, Any]]:
        """The stored (redacted) fields of every record of `event`, in order."""
        return [record["fields"] for record in self.records if record["event"] == event]

    def verify(self) -> VerifyResult:
        """Verify the captured chain as if it had been written to a file."""
        return verify_lines(f"{line}\n" for line in self.memory.lines)


@contextmanager
def capture_audit(
    *, redactor: Redactor | None = None, include_prompts: bool = False
) -> Iterator[CapturedAudit]:
    """Yield an in-memory audit log; it is closed on exit and its records stay readable."""
    audit = CapturedAudit(redactor=redactor, include_prompts=include_prompts)
    try:
        yield audit
    finally:
        audit.close()
