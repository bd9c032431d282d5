"""The audit log: redact, chain and hand each record to its sink, in order, or fail closed."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from agentkit.audit.records import (
    EMPTY_HEAD,
    Anchor,
    SealedRecord,
    check_event_name,
    format_ts,
    seal,
)
from agentkit.audit.redact import Redactor
from agentkit.audit.sinks import AuditSink, RunReader
from agentkit.audit.verify import read_anchor_file
from agentkit.canonical import canonical_json
from agentkit.errors import AuditChainBroken, AuditWriteFailed


class AuditRecorder(Protocol):
    """The seam between the runner and an audit log (AuditLog and NullAudit both are one).

    `record` writes one record or raises AuditWriteFailed; the run then stops (fail closed).
    """

    def record(self, event: str, fields: Mapping[str, Any]) -> None: ...


class AuditLog:
    """A tamper-evident, hash-chained audit log over one sink.

    ``record`` is thread-safe and never yields to the event loop, so any number of
    threads and concurrent runs may share one log; records get consecutive ``seq``
    numbers in the order they are written. Any failure to store a record raises
    AuditWriteFailed, and the log then refuses every later record: the chain's state
    on the sink is unknown, so the runs using it must stop.

    Args:
        sink: where records go (JsonlSink, SqlSink, MemorySink).
        redactor: the redaction processor; a default Redactor when None.
        include_prompts: keep prompts and outputs in records (they are omitted by default).
        clock: unix time source, for the ``ts`` of each record.
        anchor_path: when set, `close` writes the head there as ``SEQ:HASH``; opening a log
            whose records end before that anchor (or disagree with it) is refused.

    Only the process that opened the log may write to it: after ``os.fork()`` a child
    gets AuditWriteFailed and must open its own (two writers would fork the chain).

    Example:
        >>> from agentkit.audit import AuditLog, MemorySink
        >>> log = AuditLog(MemorySink())
        >>> log.record("run.started", {"run_id": "r1", "api_key": "xai-secret"})
        >>> log.head.seq
        1
    """

    def __init__(
        self,
        sink: AuditSink,
        *,
        redactor: Redactor | None = None,
        include_prompts: bool = False,
        clock: Callable[[], float] = time.time,
        anchor_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self._sink = sink
        self._redactor = redactor if redactor is not None else Redactor()
        self._include_prompts = include_prompts
        self._clock = clock
        self._anchor_path = Path(anchor_path) if anchor_path is not None else None
        self._lock = threading.Lock()
        self._head = sink.tail() or EMPTY_HEAD
        self._failure: str | None = None
        self._pid = os.getpid()
        if self._anchor_path is not None and self._anchor_path.exists():
            _check_against_anchor(self._head, read_anchor_file(self._anchor_path))

    @property
    def head(self) -> Anchor:
        """The last record's (seq, hash): keep it elsewhere to detect a cut tail later."""
        return self._head

    @property
    def redactor(self) -> Redactor:
        """The redaction rules of this log (events of its runs follow them too)."""
        return self._redactor

    @property
    def sink(self) -> AuditSink:
        """The sink records go to."""
        return self._sink

    def record(self, event: str, fields: Mapping[str, Any]) -> None:
        """Redact, chain and store one record.

        Args:
            event: a name such as ``call.executed`` (see KNOWN_EVENTS).
            fields: the event's data, including run_id, turn, call_id, request_id, principal.

        Raises:
            AuditWriteFailed: the record could not be stored (or an earlier one failed).
            ConfigError: `event` is not a dotted lowercase name.
        """
        check_event_name(event)
        try:
            clean = self._redactor.redact(fields, include_prompts=self._include_prompts)
            fields_json = canonical_json(clean)
        except Exception as exc:
            raise AuditWriteFailed(f"cannot serialise the {event} record: {exc}") from exc
        run_id, call_id = _correlation(clean)
        with self._lock:
            if self._failure is not None:
                raise AuditWriteFailed(self._failure)
            self._check_owner("write to it")
            seq, prev = self._head.seq + 1, self._head.hash
            ts = format_ts(self._clock())
            line, record_hash = seal(seq, ts, event, fields_json, prev)
            sealed = SealedRecord(seq, ts, event, prev, record_hash, line, run_id, call_id)
            self._store(sealed)
            self._head = Anchor(seq, record_hash)

    def spent_approvals(self, run_id: str) -> dict[str, int] | None:
        """The approvals of `run_id` this chain records as used (``approval.decided``), by id,
        with the seq of that record; None when the sink cannot read records back.

        The chain is the witness a rollback of the approvals store cannot undo unnoticed:
        cutting records from it is caught by its anchor.

        Raises:
            AuditWriteFailed: the sink could not be read.
        """
        if not isinstance(self._sink, RunReader):
            return None
        with self._lock:
            try:
                records = list(self._sink.records_of_run(run_id))
            except AuditWriteFailed:
                raise
            except Exception as exc:
                raise AuditWriteFailed(f"cannot read the audit records of {run_id}: {exc}") from exc
        return {
            str(r["fields"]["approval_id"]): int(r["seq"])
            for r in records
            if r["event"] == "approval.decided" and "approval_id" in r.get("fields", {})
        }

    def write_anchor(self, path: str | os.PathLike[str]) -> Anchor:
        """Write the current head to `path` (atomically) as ``SEQ:HASH`` and return it.

        Raises:
            AuditWriteFailed: this process did not open the log (a forked child holds a
                stale head), the anchor there is already past this head (moving it back
                would hide records cut after it), or the file cannot be written.
        """
        head = self._head
        target = Path(path)
        self._check_owner("move its anchor")
        if target.exists():
            try:
                current = read_anchor_file(target)
            except Exception as exc:
                raise AuditWriteFailed(f"cannot read the audit anchor {target}: {exc}") from exc
            if current.seq > head.seq:
                raise AuditWriteFailed(
                    f"the audit anchor {target} is at seq {current.seq}, past this log's head "
                    f"at seq {head.seq}: another writer moved it on; it is not moved back"
                )
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            temporary.write_text(f"{head}\n", encoding="ascii")
            os.replace(temporary, target)
        except OSError as exc:
            raise AuditWriteFailed(f"cannot write the audit anchor {target}: {exc}") from exc
        return head

    def _check_owner(self, action: str) -> None:
        if os.getpid() != self._pid:
            raise AuditWriteFailed(
                f"this audit log was opened by process {self._pid}; a forked process may not "
                f"{action} and must open its own log (two writers would fork the chain)"
            )

    def close(self) -> None:
        """Write the anchor file (when configured) and close the sink; idempotent."""
        with self._lock:
            if self._failure == _CLOSED:
                return
            failed, self._failure = self._failure is not None, _CLOSED
            try:
                if self._anchor_path is not None and not failed and os.getpid() == self._pid:
                    self.write_anchor(self._anchor_path)  # a forked child leaves it alone
            finally:
                self._sink.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _store(self, sealed: SealedRecord) -> None:
        try:
            self._sink.write(sealed)
        except AuditWriteFailed as exc:
            self._failure = f"the audit log failed earlier and accepts no more records: {exc}"
            raise
        except Exception as exc:
            self._failure = f"the audit log failed earlier and accepts no more records: {exc}"
            raise AuditWriteFailed(f"cannot store audit record {sealed.seq}: {exc}") from exc


_CLOSED = "the audit log is closed"


class NullAudit:
    """An audit log that keeps nothing, for code paths that explicitly opt out."""

    def record(self, event: str, fields: Mapping[str, Any]) -> None:
        """Check the event name and discard the record."""
        check_event_name(event)

    @property
    def head(self) -> Anchor:
        """Always the empty head."""
        return EMPTY_HEAD

    def close(self) -> None:
        """Nothing to close."""


def _check_against_anchor(head: Anchor, anchor: Anchor) -> None:
    """Refuse a log that lost records the anchor saw, before writing after them."""
    if head.seq < anchor.seq:
        raise AuditChainBroken(
            f"the audit log ends at seq {head.seq} but its anchor is at seq {anchor.seq}: "
            "records were cut from the end; it is not reopened (agentkit audit verify)",
            seq=head.seq,
        )
    if head.seq == anchor.seq and head.hash != anchor.hash:
        raise AuditChainBroken(
            f"the audit log's record {head.seq} differs from its anchor: it is not reopened",
            seq=head.seq,
        )


def _correlation(fields: Mapping[str, Any]) -> tuple[str | None, str | None]:
    run_id, call_id = fields.get("run_id"), fields.get("call_id")
    return (
        run_id if isinstance(run_id, str) else None,
        call_id if isinstance(call_id, str) else None,
    )
