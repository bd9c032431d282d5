"""The audit log at its seams: forked writers, a cut tail under an anchor, CLI decisions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import Principal, RunResult
from agentkit.approval_store import ApprovalStore
from agentkit.audit import AuditLog, JsonlSink, verify_file
from agentkit.cli import main
from agentkit.errors import AuditChainBroken
from agentkit.pipeline.confirm import pending_approval, seal_state


def test_a_forked_child_cannot_write_to_its_parents_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(JsonlSink(path))
    log.record("run.started", {"run_id": "parent"})
    child = os.fork()
    if child == 0:  # the child: its write must be refused, whatever it tries
        try:
            log.record("run.started", {"run_id": "child"})
        except Exception as exc:
            os._exit(0 if type(exc).__name__ == "AuditWriteFailed" else 2)
        os._exit(1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child's write was refused"
    log.record("run.ended", {"run_id": "parent"})
    log.close()
    result = verify_file(path)
    assert result.ok
    assert [json.loads(line)["seq"] for line in path.read_text().splitlines()] == [1, 2]


def write_log(path: Path, anchor: Path, records: int) -> None:
    with AuditLog(JsonlSink(path), anchor_path=anchor) as log:
        for n in range(records):
            log.record("call.executed", {"run_id": "r", "n": n})


@settings(max_examples=20, deadline=None)
@given(records=st.integers(2, 8), cut=st.integers(1, 8))
def test_a_log_that_lost_records_its_anchor_saw_is_not_reopened(
    tmp_path_factory: pytest.TempPathFactory, records: int, cut: int
) -> None:
    directory = tmp_path_factory.mktemp("log")
    path, anchor = directory / "audit.jsonl", directory / "audit.anchor"
    write_log(path, anchor, records)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: max(0, records - min(cut, records))]))
    with pytest.raises(AuditChainBroken, match="cut from the end"):
        AuditLog(JsonlSink(path), anchor_path=anchor)
    assert anchor.read_text().startswith(f"{records}:"), "the anchor is not rewritten"


def test_a_log_whose_last_record_differs_from_its_anchor_is_not_reopened(tmp_path: Path) -> None:
    path, anchor = tmp_path / "audit.jsonl", tmp_path / "audit.anchor"
    write_log(path, anchor, 3)
    seq, _ = anchor.read_text().strip().split(":")
    anchor.write_text(f"{seq}:{'0' * 64}\n")
    with pytest.raises(AuditChainBroken, match="differs from its anchor"):
        AuditLog(JsonlSink(path), anchor_path=anchor)


def test_a_log_that_grew_past_its_anchor_reopens(tmp_path: Path) -> None:
    path, anchor = tmp_path / "audit.jsonl", tmp_path / "audit.anchor"
    write_log(path, anchor, 2)
    with AuditLog(JsonlSink(path)) as log:  # written without updating the anchor
        log.record("run.ended", {"run_id": "r"})
    write_log(path, anchor, 1)
    assert anchor.read_text().startswith("4:")


def test_a_decision_from_the_cli_is_audited_when_it_is_made(tmp_path: Path) -> None:
    store_path, audit_path = tmp_path / "approvals.db", tmp_path / "audit" / "decisions.jsonl"
    pending = pending_approval("run-1", "c1", "close", {"n": 7}, reason="r", rule="x", now=0.0)
    run = RunResult(
        run_id="run-1",
        agent="Ops",
        model="m",
        principal=Principal(),
        status="awaiting_approval",
        pending=[pending],
    )
    store = ApprovalStore(store_path)
    seal_state(run, store.sealer)  # as the runner seals a paused run
    store.save(run)
    argv = ["approvals", "--store", str(store_path), "approve", pending.approval_id]
    assert main([*argv, "--as", "ana", "--audit", str(audit_path)]) == 0
    [record] = [json.loads(line) for line in audit_path.read_text().splitlines()]
    assert record["event"] == "approval.recorded"
    assert record["fields"] == {
        "run_id": "run-1",
        "call_id": "c1",
        "tool": "close",
        "approval_id": pending.approval_id,
        "approved": True,
        "approver": "ana",
        "approver_roles": [],
        "outcome": "approved",
        "rule": "default",
    }
    assert verify_file(audit_path).ok


def test_a_decision_whose_record_cannot_be_written_is_not_stored(tmp_path: Path) -> None:
    store_path = tmp_path / "approvals.db"
    pending = pending_approval("run-1", "c1", "close", {"n": 7}, reason="r", rule="x", now=0.0)
    run = RunResult(
        run_id="run-1",
        agent="Ops",
        model="m",
        principal=Principal(),
        status="awaiting_approval",
        pending=[pending],
    )
    store = ApprovalStore(store_path)
    seal_state(run, store.sealer)
    store.save(run)

    class Broken:
        def record(self, event: str, fields: object) -> None:
            from agentkit.errors import AuditWriteFailed

            raise AuditWriteFailed("disk full")

    from agentkit.errors import AuditWriteFailed

    with pytest.raises(AuditWriteFailed):
        store.decide(pending.approval_id, approved=True, approver="ana", audit=Broken())
    assert [a.verdict for a in store.approvals(None)] == ["pending"]
