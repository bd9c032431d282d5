"""The tamper-evident audit log: redacted, hash-chained records in a JSONL file or SQL table.

Example:
    >>> from agentkit.audit import AuditLog, JsonlSink
    >>> with AuditLog(JsonlSink("audit.jsonl")) as log:  # doctest: +SKIP
    ...     log.record("run.started", {"run_id": "r1"})
"""

from __future__ import annotations

from agentkit.audit.chain import AuditLog, AuditRecorder, NullAudit
from agentkit.audit.records import EMPTY_HEAD, GENESIS, KNOWN_EVENTS, Anchor, SealedRecord
from agentkit.audit.redact import Redactor
from agentkit.audit.sinks import AuditSink, JsonlSink, MemorySink
from agentkit.audit.sql import DEFAULT_TABLE, SqlSink, verify_sql
from agentkit.audit.testing import CapturedAudit, capture_audit
from agentkit.audit.verify import (
    ChainBreak,
    VerifyResult,
    read_anchor_file,
    repair_file,
    verify_file,
    verify_lines,
)
from agentkit.errors import ConfigError

__all__ = [
    "EMPTY_HEAD",
    "GENESIS",
    "KNOWN_EVENTS",
    "Anchor",
    "AuditLog",
    "AuditRecorder",
    "AuditSink",
    "CapturedAudit",
    "ChainBreak",
    "JsonlSink",
    "MemorySink",
    "NullAudit",
    "Redactor",
    "SealedRecord",
    "SqlSink",
    "VerifyResult",
    "capture_audit",
    "open_sink",
    "read_anchor_file",
    "repair_file",
    "verify_file",
    "verify_lines",
    "verify_sql",
    "verify_target",
]


def open_sink(target: str, *, fsync: bool = False) -> AuditSink:
    """A SqlSink when `target` is a database URL, else a JsonlSink on that path."""
    if "://" in target:
        return SqlSink(target, fsync=fsync)
    return JsonlSink(target, fsync=fsync)


def verify_target(
    target: str, *, anchor: Anchor | None = None, table: str | None = None
) -> VerifyResult:
    """Verify a JSONL file, or an SQL table when `target` is a database URL."""
    if "://" in target:
        return verify_sql(target, table=table or DEFAULT_TABLE, anchor=anchor)
    if table is not None:
        raise ConfigError("--table applies to a database URL, not to a file")
    return verify_file(target, anchor=anchor)
