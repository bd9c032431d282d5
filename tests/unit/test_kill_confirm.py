"""Stage confirm at its edges: typed decisions, the sealed paused state, which ledgers, and a
state older than the audit chain's record of its run."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from agentkit.decision import Principal
from agentkit.errors import ConfigError, RunStateTampered, StaleRunState
from agentkit.pipeline.confirm import (
    ApprovalDecision,
    MemoryLedger,
    check_fresh,
    check_state,
    ledgers_for,
    normalise_decisions,
    pending_approval,
    seal_state,
)
from agentkit.sealing import Sealer
from agentkit.state import RunResult, Step

ARGS: dict[str, Any] = {"ticket_id": 7}
SEALER = Sealer(bytes(range(32)))


def paused_run() -> RunResult:
    run = RunResult(run_id="run-1", agent="desk", model="grok", principal=Principal())
    run.steps.append(
        Step(
            call_id="c1",
            tool="close_ticket",
            turn=1,
            raw_arguments=json.dumps(ARGS),
            arguments=dict(ARGS),
            status="awaiting_approval",
        )
    )
    run.pending.append(
        pending_approval(
            "run-1", "c1", "close_ticket", dict(ARGS), reason="r", rule="r", now=5.0, sealer=SEALER
        )
    )
    run.status = "awaiting_approval"
    return run


class Durable:
    durable = True

    def consume(self, approval_id: str) -> bool:
        return True


# --- typed decisions -------------------------------------------------------------------------


def test_a_decision_that_is_not_an_approval_decision_is_refused_naming_its_type() -> None:
    with pytest.raises(ConfigError) as caught:
        normalise_decisions(["apr_1"], paused_run(), "ana")  # type: ignore[list-item]
    assert str(caught.value) == (
        "a decision must be an ApprovalDecision, got str; or pass {approval_id: True | False}"
    )


def test_a_decision_object_with_a_verdict_that_is_not_a_bool_is_refused_naming_its_id() -> None:
    run = paused_run()
    (pending,) = run.pending
    decision = ApprovalDecision._for(pending, "yes", "ana", "")  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as caught:
        normalise_decisions([decision], run, "ana")
    assert str(caught.value) == (
        f"the verdict on {pending.approval_id} must be True or False, got 'yes'"
    )


def test_a_mapping_verdict_that_is_not_a_bool_is_refused_naming_its_id() -> None:
    run = paused_run()
    (pending,) = run.pending
    with pytest.raises(ConfigError) as caught:
        normalise_decisions({pending.approval_id: 1}, run, "ana")  # type: ignore[dict-item]
    assert str(caught.value) == f"the verdict on {pending.approval_id} must be True or False, got 1"


# --- the sealed paused state ----------------------------------------------------------------


def test_a_sealed_state_holding_non_json_tool_facts_checks_after_a_round_trip_as_json() -> None:
    run = paused_run()
    run.steps[0].metadata = {"when": datetime.date(2024, 5, 1), "raw": b"ab"}
    seal_state(run, SEALER)
    stored = RunResult.from_json(run.to_json())
    check_state(stored, SEALER, None)
    check_state(run, SEALER, None)


def test_a_state_changed_after_sealing_is_refused_with_the_whole_reason() -> None:
    run = paused_run()
    seal_state(run, SEALER)
    run.steps[0].arguments = {"ticket_id": 8}
    with pytest.raises(RunStateTampered) as caught:
        check_state(run, SEALER, None)
    assert str(caught.value) == (
        "run run-1 does not carry the seal it was paused with: it was changed after it paused, "
        "or was sealed under another key (see AGENTKIT_SEAL_KEY)"
    )


# --- which ledgers a resume spends approvals in ---------------------------------------------


def decided(ledger: Any) -> ApprovalDecision:
    (pending,) = paused_run().pending
    decision = ApprovalDecision.approve(pending, approver="ana")
    return ApprovalDecision(
        **{f: getattr(decision, f) for f in ("approval_id", "approved", "run_id", "call_id")},
        tool=decision.tool,
        arguments_sha256=decision.arguments_sha256,
        approver=decision.approver,
        ledger=ledger,
    )


def test_the_store_ledger_of_a_decision_takes_part_once_and_comes_first_being_durable() -> None:
    own, store = MemoryLedger(), Durable()
    found = ledgers_for(paused_run(), [decided(store), decided(store), decided(own)], own)
    assert len(found) == 2
    assert found[0] is store
    assert found[1] is own


def test_a_durable_own_ledger_comes_before_a_memory_ledger_of_a_decision() -> None:
    own, other = Durable(), MemoryLedger()
    found = ledgers_for(paused_run(), [decided(other)], own)  # type: ignore[arg-type]
    assert len(found) == 2
    assert found[0] is own
    assert found[1] is other


def test_a_decision_without_a_ledger_adds_none() -> None:
    own = MemoryLedger()
    own.remember_pause("run-1")
    assert ledgers_for(paused_run(), [decided(None)], own) == [own]


def test_a_run_paused_elsewhere_without_a_durable_ledger_is_refused_with_the_whole_reason() -> None:
    with pytest.raises(ConfigError) as caught:
        ledgers_for(paused_run(), [decided(None)], MemoryLedger())
    assert str(caught.value) == (
        "run run-1 did not pause in this process, so nothing here can tell whether its "
        "approvals were already used: resume it with a ledger every process shares, "
        "Agent(approvals=ApprovalStore(path)), or with decisions from ApprovalStore.decisions()"
    )


# --- a state older than the witness's record of its run --------------------------------------


class Witness:
    """An audit chain that saw `spent` used in the run: approval id -> seq of the record."""

    def __init__(self, spent: dict[str, int]) -> None:
        self.spent = spent

    def spent_approvals(self, run_id: str) -> dict[str, int]:
        return self.spent


def test_a_state_waiting_on_an_approval_the_witness_saw_used_is_refused_naming_its_record() -> None:
    run = paused_run()
    (pending,) = run.pending
    with pytest.raises(StaleRunState) as caught:
        check_fresh(run, Witness({pending.approval_id: 4}))
    assert str(caught.value) == (
        f"run run-1 waits on approval {pending.approval_id}, which the audit log records as "
        "used (record 4): this state is older than the run (a rolled-back store or an old "
        "copy) and is not resumed"
    )


def test_a_state_lacking_approvals_the_witness_saw_used_is_refused_naming_the_first() -> None:
    run = paused_run()
    run.consumed_approvals.append("apr_a")
    with pytest.raises(StaleRunState) as caught:
        check_fresh(run, Witness({"apr_a": 2, "apr_c": 5, "apr_b": 3}))
    assert str(caught.value) == (
        "run run-1 does not know approval apr_b, which the audit log records as used in it "
        "(record 3): this state is older than the run (a rolled-back store or an old copy) "
        "and is not resumed"
    )


def test_a_state_that_knows_every_approval_the_witness_saw_used_is_fresh() -> None:
    run = paused_run()
    run.consumed_approvals.extend(["apr_a", "apr_b"])
    check_fresh(run, Witness({"apr_a": 2, "apr_b": 3}))
    check_fresh(run, object())  # no witness: nothing to compare with
