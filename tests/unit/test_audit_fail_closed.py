"""After one failed write the audit log refuses every later record: it fails closed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from agentkit.audit import EMPTY_HEAD, AuditLog, MemorySink, Redactor
from agentkit.audit.records import SealedRecord
from agentkit.errors import AuditWriteFailed


class FlakySink(MemorySink):
    """Fails the first write with `error`, then would store every later one."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error: Exception | None = error
        self.attempts = 0

    def write(self, record: SealedRecord) -> None:
        self.attempts += 1
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        super().write(record)


@pytest.mark.parametrize(
    "error",
    [AuditWriteFailed("sink refused the record"), OSError("sink refused the record")],
    ids=["audit-write-failed", "other-exception"],
)
def test_a_log_whose_sink_failed_once_refuses_every_later_record(error: Exception) -> None:
    sink = FlakySink(error)
    log = AuditLog(sink)
    with pytest.raises(AuditWriteFailed, match="sink refused the record"):
        log.record("run.started", {"run_id": "r1"})
    for event in ("call.requested", "run.ended", "run.ended"):
        with pytest.raises(
            AuditWriteFailed,
            match=r"^the audit log failed earlier and accepts no more records: "
            r".*sink refused the record$",
        ):
            log.record(event, {"run_id": "r1"})
    assert sink.attempts == 1
    assert sink.records == []
    assert log.head == EMPTY_HEAD


def test_a_record_that_cannot_be_serialised_names_its_event() -> None:
    class BrokenRedactor(Redactor):
        def redact(
            self, fields: Mapping[str, Any], *, include_prompts: bool = True
        ) -> dict[str, Any]:
            raise TypeError("no plain form")

    log = AuditLog(MemorySink(), redactor=BrokenRedactor())
    with pytest.raises(
        AuditWriteFailed, match=r"^cannot serialise the call\.executed record: no plain form$"
    ) as caught:
        log.record("call.executed", {"run_id": "r1"})
    assert isinstance(caught.value.__cause__, TypeError)


def test_an_anchor_that_cannot_be_written_names_its_path(tmp_path: Path) -> None:
    log = AuditLog(MemorySink())
    log.record("run.started", {"run_id": "r1"})
    target = tmp_path / "missing" / "audit.anchor"
    with pytest.raises(AuditWriteFailed, match=r"^cannot write the audit anchor .*audit\.anchor: "):
        log.write_anchor(target)
    assert not target.exists()
