"""The audit log refuses to fork or to reopen past a cut tail, saying exactly why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentkit.audit import AuditLog, JsonlSink
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
