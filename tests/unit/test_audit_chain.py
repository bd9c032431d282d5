"""The audit log chains records in order, resumes files, is safe to share, and fails closed."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from agentkit.audit import (
    EMPTY_HEAD,
    GENESIS,
    AuditLog,
    JsonlSink,
    MemorySink,
    NullAudit,
    capture_audit,
    verify_file,
    verify_lines,
)
from agentkit.audit.records import SealedRecord
from agentkit.errors import AuditWriteFailed, ConfigError


def test_records_are_chained_from_genesis() -> None:
    with capture_audit() as audit:
        audit.record("run.started", {"run_id": "r1"})
        audit.record("run.ended", {"run_id": "r1"})
    first, second = audit.records
    assert (first["seq"], first["prev"]) == (1, GENESIS)
    assert (second["seq"], second["prev"]) == (2, first["hash"])
    assert audit.head.hash == second["hash"]
    assert audit.events == ["run.started", "run.ended"]
    assert audit.verify().ok


def test_timestamps_come_from_the_injected_clock() -> None:
    log = AuditLog(MemorySink(), clock=lambda: 1_700_000_000.25)
    log.record("run.started", {})
    assert json.loads(log.sink.lines[0])["ts"] == "2023-11-14T22:13:20.250000Z"  # type: ignore[attr-defined]


def test_correlation_fields_reach_the_sink() -> None:
    sink = MemorySink()
    AuditLog(sink).record("call.decided", {"run_id": "r9", "call_id": "call_3", "turn": 2})
    assert (sink.records[0].run_id, sink.records[0].call_id) == ("r9", "call_3")


def test_bad_event_name_is_a_config_error() -> None:
    with capture_audit() as audit, pytest.raises(ConfigError):
        audit.record("Call Executed", {})
    assert audit.records == []


def test_appending_to_an_existing_file_resumes_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(JsonlSink(path)) as first:
        first.record("run.started", {"run_id": "a"})
        first.record("run.paused", {"run_id": "a"})
    with AuditLog(JsonlSink(path)) as second:
        assert second.head == first.head
        second.record("run.resumed", {"run_id": "a"})
    result = verify_file(path)
    assert (result.ok, result.records) == (True, 3)


def test_second_writer_on_one_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(JsonlSink(path)), pytest.raises(AuditWriteFailed, match="already open"):
        JsonlSink(path)
    JsonlSink(path).close()  # free again once the first writer closed


def test_file_is_private_to_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    JsonlSink(path).close()
    assert path.stat().st_mode & 0o077 == 0


def test_full_disk_raises_and_poisons_the_log() -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    log = AuditLog(JsonlSink("/dev/full"))
    with pytest.raises(AuditWriteFailed, match="No space left"):
        log.record("run.started", {})
    with pytest.raises(AuditWriteFailed, match="failed earlier"):
        log.record("run.ended", {})
    assert log.head == EMPTY_HEAD
    log.close()


def test_closed_file_descriptor_raises(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "audit.jsonl")
    log = AuditLog(sink)
    log.record("run.started", {})
    os.close(sink.fileno())
    with pytest.raises(AuditWriteFailed, match="Bad file descriptor"):
        log.record("run.ended", {})


def test_unwritable_target_raises(tmp_path: Path) -> None:
    with pytest.raises(AuditWriteFailed, match="cannot open"):
        JsonlSink(tmp_path)  # a directory
    with pytest.raises(AuditWriteFailed, match="cannot open"):
        JsonlSink(tmp_path / "missing-dir" / "audit.jsonl")


def test_closed_log_refuses_records(tmp_path: Path) -> None:
    log = AuditLog(JsonlSink(tmp_path / "audit.jsonl"))
    log.close()
    log.close()
    with pytest.raises(AuditWriteFailed, match="closed"):
        log.record("run.started", {})


class ExplodingSink(MemorySink):
    def write(self, record: SealedRecord) -> None:
        raise RuntimeError("disk on fire")


def test_any_sink_exception_becomes_audit_write_failed() -> None:
    log = AuditLog(ExplodingSink())
    with pytest.raises(AuditWriteFailed, match="disk on fire") as caught:
        log.record("call.executed", {})
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_threads_sharing_one_log_get_consecutive_records(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(JsonlSink(path))
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        start.wait()
        for index in range(250):
            log.record("call.executed", {"run_id": f"w{worker}", "n": index})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    result = verify_file(path)
    assert (result.ok, result.records) == (True, 2000)
    per_worker: dict[str, list[int]] = {}
    for line in path.read_text().splitlines():
        fields = json.loads(line)["fields"]
        per_worker.setdefault(fields["run_id"], []).append(fields["n"])
    assert all(ns == list(range(250)) for ns in per_worker.values())


class SwitchingSink(MemorySink):
    """Hands the interpreter to another thread inside every write, as a slow disk would."""

    def write(self, record: SealedRecord) -> None:
        time.sleep(0)
        super().write(record)


def test_records_written_from_many_threads_never_interleave() -> None:
    log = AuditLog(SwitchingSink())
    workers, each = 8, 100
    start = threading.Barrier(workers)

    def work(worker: int) -> None:
        start.wait()
        for index in range(each):
            log.record("model.request", {"run_id": f"w{worker}", "turn": index})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sink = log.sink
    assert isinstance(sink, SwitchingSink)
    assert [r.seq for r in sink.records] == list(range(1, workers * each + 1))
    verdict = verify_lines(f"{line}\n" for line in sink.lines)
    assert (verdict.ok, verdict.records) == (True, workers * each), verdict.error
    written = sorted((r.run_id, json.loads(r.line)["fields"]["turn"]) for r in sink.records)
    assert written == sorted((f"w{w}", n) for w in range(workers) for n in range(each))
    assert log.head.seq == workers * each


def test_null_audit_keeps_nothing_but_checks_names() -> None:
    null = NullAudit()
    null.record("run.started", {"password": "x"})
    assert null.head == EMPTY_HEAD
    with pytest.raises(ConfigError):
        null.record("bad name", {})
    null.close()


def test_capture_audit_records_stay_readable_after_exit() -> None:
    with capture_audit() as audit:
        audit.record("approval.requested", {"call_id": "c1", "token": "t0ps3cret"})
    assert audit.fields_of("approval.requested") == [{"call_id": "c1", "token": "[REDACTED]"}]
    with pytest.raises(AuditWriteFailed):
        audit.record("approval.decided", {})
