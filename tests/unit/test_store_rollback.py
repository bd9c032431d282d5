"""Someone who can write the approvals store, but not the audit chain, its anchor or the seal
key: rolling the store back to any earlier copy never runs a call twice, and the refusal
says why. The witness is the audit chain, read back from each kind of sink."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit import (
    Agent,
    ApprovalRefused,
    ApprovalStore,
    AuditLog,
    JsonlSink,
    Principal,
    RunStateError,
    SqlSink,
    StaleRunState,
    tool,
    verify_file,
)
from agentkit.audit import MemorySink
from agentkit.audit.sinks import AuditSink
from agentkit.policy import Policy
from agentkit.testing import Turn, scripted_client

POLICY = Policy.from_yaml("version: 1\ntools:\n  close: {action: confirm, side_effect: write}\n")


class Desk(Agent):
    def __init__(self, ran: list[int], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ran = ran

    @tool(side_effect="write")
    async def close(self, n: int) -> str:
        """Close a ticket."""
        self.ran.append(n)
        return f"closed {n}"


def desk(ran: list[int], store: ApprovalStore, audit: AuditLog, calls: list[int]) -> Desk:
    """The calls all in the first turn, then an answer (the script replays for a resume)."""
    turns = [Turn.calls([("close", {"n": n}) for n in calls]), Turn.text("done")]
    return Desk(
        ran,
        client=scripted_client(turns),
        policy=POLICY,
        approvals=store,
        audit=audit,
        principal=Principal(user_id="ana"),
    )


SinkFactory = Callable[[Path], AuditSink]
SINKS: dict[str, SinkFactory] = {
    "jsonl": lambda d: JsonlSink(d / "audit.jsonl"),
    "sql": lambda d: SqlSink(f"sqlite:///{d / 'audit.db'}"),
}


@contextmanager
def reopened(directory: Path, kind: str) -> Iterator[AuditLog]:
    """The audit log as a new process would open it (from its sink and its anchor)."""
    log = AuditLog(SINKS[kind](directory), anchor_path=directory / "audit.anchor")
    try:
        yield log
    finally:
        log.close()


@pytest.mark.parametrize("kind", sorted(SINKS))
def test_a_store_rolled_back_after_a_decision_does_not_replay_it(tmp_path: Path, kind: str) -> None:
    ran: list[int] = []
    store = ApprovalStore(tmp_path / "approvals.db")
    with reopened(tmp_path, kind) as audit:
        paused = desk(ran, store, audit, [7]).run_sync("close 7")
        store.save(paused)
    (pending,) = paused.pending
    store.decide(pending.approval_id, approved=True, approver="bo")
    shutil.copy(store.path, tmp_path / "copy.db")  # taken after the decision

    with reopened(tmp_path, kind) as audit:
        agent = desk(ran, store, audit, [7])
        run = store.load(paused.run_id)
        assert agent.resume_sync(run, store.decisions(run.run_id)).status == "completed"
    assert ran == [7]

    shutil.copy(tmp_path / "copy.db", store.path)  # the rollback
    rolled = ApprovalStore(store.path)
    with reopened(tmp_path, kind) as audit:
        agent = desk(ran, rolled, audit, [7])
        run = rolled.load(paused.run_id)
        with pytest.raises(StaleRunState, match=rf"{pending.approval_id}.*used \(record \d+\)"):
            agent.resume_sync(run, rolled.decisions(run.run_id))
    assert ran == [7]


def test_a_state_kept_from_before_a_partial_resume_is_refused(tmp_path: Path) -> None:
    """The state lacks an approval the chain saw used: it is older than the run."""
    ran: list[int] = []
    audit = AuditLog(MemorySink())
    store = ApprovalStore(tmp_path / "approvals.db")
    agent = desk(ran, store, audit, [1, 2])
    first = agent.run_sync("close both")
    old = first.model_copy(deep=True)
    one, two = first.pending
    store.save(first)
    store.decide(one.approval_id, approved=True, approver="bo")
    still = agent.resume_sync(store.load(first.run_id), store.decisions(first.run_id))
    assert [p.approval_id for p in still.pending] == [two.approval_id]
    with pytest.raises(StaleRunState, match="records as used"):
        agent.resume_sync(old, [])  # decides nothing, and still refused: it is stale
    assert ran == []


# --- a property over store states: any earlier copy of the store, any order of decisions ---


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    calls=st.integers(1, 3),
    verdicts=st.lists(st.booleans(), min_size=3, max_size=3),
    restore_at=st.integers(0, 4),
)
def test_no_copy_of_the_store_runs_a_call_twice(
    tmp_path_factory: pytest.TempPathFactory, calls: int, verdicts: list[bool], restore_at: int
) -> None:
    directory = tmp_path_factory.mktemp("rollback")
    ran: list[int] = []
    store = ApprovalStore(directory / "approvals.db")
    audit = AuditLog(JsonlSink(directory / "audit.jsonl"))
    agent = desk(ran, store, audit, list(range(calls)))
    run = agent.run_sync("close them")
    store.save(run)
    copies = [directory / "copy-0.db"]
    shutil.copy(store.path, copies[0])
    for pending, approved in zip(list(run.pending), verdicts, strict=False):
        store.decide(pending.approval_id, approved=approved, approver="bo")
        copies.append(directory / f"copy-{len(copies)}.db")
        shutil.copy(store.path, copies[-1])
        run = agent.resume_sync(store.load(run.run_id), store.decisions(run.run_id))
        store.save(run)  # one approval at a time: each resume is partial but the last
    assert run.status == "completed"
    approved_calls = [n for n, ok in zip(range(calls), verdicts, strict=False) if ok]
    assert sorted(ran) == approved_calls

    shutil.copy(copies[min(restore_at, len(copies) - 1)], store.path)
    rolled = ApprovalStore(store.path)
    old = rolled.load(run.run_id)
    if old.status == "awaiting_approval":
        with pytest.raises((StaleRunState, ApprovalRefused, RunStateError)):
            agent.resume_sync(old, rolled.decisions(old.run_id))
    assert sorted(ran) == approved_calls, "a call ran twice"
    audit.close()


def test_verification_reports_an_approval_used_twice(tmp_path: Path) -> None:
    """Where nothing checked the chain at resume (a replay through a store of its own), the
    chain still shows the second use, and `agentkit audit verify` fails on it."""
    path = tmp_path / "audit.jsonl"
    with AuditLog(JsonlSink(path)) as log:
        for run in ("r1", "r1", "r2"):
            log.record(
                "approval.decided",
                {"run_id": run, "approval_id": f"apr_{run}", "approved": True, "approver": "bo"},
            )
    result = verify_file(path)
    assert result.error is not None
    assert (result.error.kind, result.error.seq) == ("replay", 2)
    assert "apr_r1 is used a second time (first at seq 1)" in result.error.reason
