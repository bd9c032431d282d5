"""The audit log refuses to fork, to reopen past a cut tail or to move an anchor it cannot
read, saying exactly why; and what it reads back as the run's used approvals."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.audit import AuditLog, JsonlSink, MemorySink
from agentkit.audit.records import Anchor
from agentkit.errors import AuditChainBroken, AuditWriteFailed


def write_log(path: Path, anchor: Path, records: int) -> None:
    with AuditLog(JsonlSink(path), anchor_path=anchor) as log:
        for n in range(records):
            log.record("call.executed", {"run_id": "r", "n": n})


def test_a_log_cut_before_its_anchor_is_refused_with_the_seq_it_ends_at(tmp_path: Path) -> None:
    path, anchor = tmp_path / "audit.jsonl", tmp_path / "audit.anchor"
    write_log(path, anchor, 3)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:1]))
    with pytest.raises(AuditChainBroken) as caught:
        AuditLog(JsonlSink(path), anchor_path=anchor)
    assert str(caught.value) == (
        "the audit log ends at seq 1 but its anchor is at seq 3: records were cut from the end; "
        "it is not reopened (agentkit audit verify)"
    )
    assert caught.value.seq == 1


def test_a_log_whose_last_record_differs_from_its_anchor_is_refused_with_its_seq(
    tmp_path: Path,
) -> None:
    path, anchor = tmp_path / "audit.jsonl", tmp_path / "audit.anchor"
    write_log(path, anchor, 2)
    head = Anchor.parse(anchor.read_text().strip())
    anchor.write_text(f"{Anchor(head.seq, 'ab' * 32)}\n")
    with pytest.raises(AuditChainBroken) as caught:
        AuditLog(JsonlSink(path), anchor_path=anchor)
    assert str(caught.value) == (
        "the audit log's record 2 differs from its anchor: it is not reopened"
    )
    assert caught.value.seq == 2


def test_a_write_from_another_process_is_refused_naming_the_process_that_opened_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = AuditLog(JsonlSink(tmp_path / "audit.jsonl"))
    opener = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: opener + 1)  # as in a forked child
    with pytest.raises(AuditWriteFailed) as caught:
        log.record("run.started", {"run_id": "child"})
    assert str(caught.value) == (
        f"this audit log was opened by process {opener}; a forked process may not write to it "
        "and must open its own log (two writers would fork the chain)"
    )


def test_moving_the_anchor_from_another_process_is_refused_and_leaves_no_anchor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = AuditLog(JsonlSink(tmp_path / "audit.jsonl"))
    anchor = tmp_path / "audit.anchor"
    opener = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: opener + 1)
    with pytest.raises(AuditWriteFailed) as caught:
        log.write_anchor(anchor)
    monkeypatch.undo()
    log.close()
    assert str(caught.value) == (
        f"this audit log was opened by process {opener}; a forked process may not move its "
        "anchor and must open its own log (two writers would fork the chain)"
    )
    assert not anchor.exists()


def test_an_anchor_that_cannot_be_read_is_not_overwritten_and_the_error_says_why(
    tmp_path: Path,
) -> None:
    anchor = tmp_path / "audit.anchor"
    anchor.write_text("not an anchor\n")
    with AuditLog(JsonlSink(tmp_path / "audit.jsonl")) as log:
        log.record("run.started", {"run_id": "r"})
        with pytest.raises(AuditWriteFailed) as caught:
            log.write_anchor(anchor)
    assert str(caught.value) == (
        f"cannot read the audit anchor {anchor}: an anchor reads SEQ:HASH (64 hex digits), "
        "got 'not an anchor'"
    )
    assert anchor.read_text() == "not an anchor\n"


class Unreadable(MemorySink):
    """A sink whose records cannot be read back."""

    def records_of_run(self, run_id: str) -> Iterator[dict[str, Any]]:
        raise OSError("the disk is gone")


class Bare(MemorySink):
    """A sink that also returns a record of the run without fields."""

    def records_of_run(self, run_id: str) -> Iterator[dict[str, Any]]:
        yield {"seq": 1, "event": "approval.decided"}
        yield {"seq": 2, "event": "approval.decided", "fields": {"approval_id": "apr_1"}}
        yield {"seq": 3, "event": "call.executed", "fields": {"approval_id": "apr_2"}}


def test_a_sink_that_cannot_read_back_fails_naming_the_run_and_the_cause() -> None:
    log = AuditLog(Unreadable())
    with pytest.raises(AuditWriteFailed) as caught:
        log.spent_approvals("run-7")
    assert str(caught.value) == "cannot read the audit records of run-7: the disk is gone"


def test_spent_approvals_are_the_decided_ones_and_a_record_without_fields_is_skipped() -> None:
    assert AuditLog(Bare()).spent_approvals("r") == {"apr_1": 2}
