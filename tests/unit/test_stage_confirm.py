"""Stage confirm: an approval is bound to one exact call and can be used at most once."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit.decision import Principal
from agentkit.errors import ApprovalRefused
from agentkit.pipeline.confirm import (
    ApprovalDecision,
    InlineAnswer,
    MemoryLedger,
    approval_id_for,
    ask,
    check_binding,
    normalise_decisions,
    pending_approval,
)
from agentkit.sealing import Sealer, default_sealer
from agentkit.state import PendingApproval, RunResult, Step, arguments_digest

ARGS: dict[str, Any] = {"ticket_id": 7, "reason": "duplicate"}


def paused_run(arguments: dict[str, Any] | None = None) -> RunResult:
    """A run waiting for one approval of close_ticket(ARGS) as call c1."""
    arguments = dict(ARGS if arguments is None else arguments)
    run = RunResult(run_id="run-1", agent="desk", model="grok", principal=Principal())
    run.steps.append(
        Step(
            call_id="c1",
            tool="close_ticket",
            turn=1,
            raw_arguments=json.dumps(arguments),
            arguments=arguments,
            status="awaiting_approval",
        )
    )
    run.pending.append(
        pending_approval(
            "run-1", "c1", "close_ticket", arguments, reason="destructive", rule="r", now=5.0
        )
    )
    return run


KEY = bytes(range(32))
SEALER = Sealer(KEY)


def test_approval_id_is_the_keyed_mac_of_the_four_parts_joined_by_unit_separators() -> None:
    material = "approval\x1frun-1\x1fc1\x1fclose_ticket\x1f" + "ab" * 32
    expected = "apr_" + hmac.new(KEY, material.encode(), hashlib.sha256).hexdigest()[:32]
    assert approval_id_for("run-1", "c1", "close_ticket", "ab" * 32, SEALER) == expected


def test_approval_ids_under_another_key_differ() -> None:
    other = Sealer(bytes(32))
    assert approval_id_for("r", "c", "t", "d", SEALER) != approval_id_for("r", "c", "t", "d", other)


def test_approval_ids_of_differently_split_parts_differ() -> None:
    one = approval_id_for("run-1", "c1", "t", "d", SEALER)
    assert one != approval_id_for("run-1c", "1", "t", "d", SEALER)
    assert one != approval_id_for("run-1", "c1\x1ft", "", "d", SEALER)


def test_pending_approval_binds_the_digest_of_the_arguments() -> None:
    pending = pending_approval(
        "run-1", "c1", "close_ticket", ARGS, reason="why", rule="destructive", now=5.0
    )
    digest = arguments_digest(ARGS)
    assert pending == PendingApproval(
        approval_id=approval_id_for("run-1", "c1", "close_ticket", digest, default_sealer()),
        run_id="run-1",
        call_id="c1",
        tool="close_ticket",
        arguments=ARGS,
        arguments_sha256=digest,
        reason="why",
        rule="destructive",
        requested_at=5.0,
    )


def test_approve_and_deny_copy_every_binding_part_of_the_pending_approval() -> None:
    pending = paused_run().pending[0]
    yes = ApprovalDecision.approve(pending, approver="ana", note="ok")
    no = ApprovalDecision.deny(pending, approver="bo")
    common = {
        "approval_id": pending.approval_id,
        "run_id": "run-1",
        "call_id": "c1",
        "tool": "close_ticket",
        "arguments_sha256": pending.arguments_sha256,
    }
    assert yes == ApprovalDecision(approved=True, approver="ana", note="ok", **common)
    assert no == ApprovalDecision(approved=False, approver="bo", note="", **common)
    assert ApprovalDecision.approve(pending, approver="ana").note == ""


def test_a_matching_decision_returns_its_pending_approval() -> None:
    run = paused_run()
    decision = ApprovalDecision.approve(run.pending[0], approver="ana")
    assert check_binding(run, decision) is run.pending[0]


def test_a_matching_decision_is_found_among_several_pending() -> None:
    run = paused_run()
    other = pending_approval("run-1", "c0", "close_ticket", {}, reason="", rule="r", now=1.0)
    run.steps.insert(0, Step(call_id="c0", tool="close_ticket", turn=1, raw_arguments="{}"))
    run.steps[0].arguments = {}
    run.pending.insert(0, other)
    decision = ApprovalDecision.approve(run.pending[1], approver="ana")
    assert check_binding(run, decision) is run.pending[1]


PARTS = ("run_id", "call_id", "tool", "arguments_sha256")


@pytest.mark.parametrize("part", PARTS)
def test_a_decision_differing_in_one_part_is_refused(part: str) -> None:
    run = paused_run()
    decision = ApprovalDecision.approve(run.pending[0], approver="ana")
    altered = dataclasses.replace(decision, **{part: getattr(decision, part) + "x"})
    with pytest.raises(ApprovalRefused) as info:
        check_binding(run, altered)
    assert str(info.value) == (
        f"approval {decision.approval_id} does not match its call "
        "(run, call, tool and arguments must all be the ones shown to the approver)"
    )


@given(
    part=st.sampled_from(PARTS),
    value=st.text(min_size=0, max_size=70),
)
def test_any_single_part_change_of_a_decision_is_refused(part: str, value: str) -> None:
    run = paused_run()
    decision = ApprovalDecision.approve(run.pending[0], approver="ana")
    if getattr(decision, part) == value:
        return
    with pytest.raises(ApprovalRefused):
        check_binding(run, dataclasses.replace(decision, **{part: value}))


def test_a_decision_for_an_id_that_is_not_pending_is_refused() -> None:
    run = paused_run()
    decision = dataclasses.replace(
        ApprovalDecision.approve(run.pending[0], approver="ana"), approval_id="apr_" + "0" * 32
    )
    with pytest.raises(ApprovalRefused, match="is not pending in run run-1"):
        check_binding(run, decision)


def test_a_pending_approval_whose_id_was_not_computed_from_its_call_is_refused() -> None:
    run = paused_run()
    forged = run.pending[0].model_copy(update={"approval_id": "apr_" + "f" * 32})
    run.pending[0] = forged
    decision = ApprovalDecision.approve(forged, approver="ana")
    with pytest.raises(ApprovalRefused, match="is not bound to this call"):
        check_binding(run, decision)


def test_arguments_changed_after_the_request_refuse_the_approval_shown_for_the_old_ones() -> None:
    run = paused_run()
    decision = ApprovalDecision.approve(run.pending[0], approver="ana")
    run.steps[0].arguments = {"ticket_id": 8, "reason": "duplicate"}
    with pytest.raises(ApprovalRefused, match="does not match its call"):
        check_binding(run, decision)


def test_a_decision_rebound_to_changed_arguments_fails_the_pending_digest_check() -> None:
    run = paused_run()
    changed = {"ticket_id": 8, "reason": "duplicate"}
    run.steps[0].arguments = changed
    decision = dataclasses.replace(
        ApprovalDecision.approve(run.pending[0], approver="ana"),
        arguments_sha256=arguments_digest(changed),
    )
    with pytest.raises(ApprovalRefused, match="does not match its call"):
        check_binding(run, decision)


def test_pending_arguments_changed_after_the_request_refuse_the_approval() -> None:
    run = paused_run()
    decision = ApprovalDecision.approve(run.pending[0], approver="ana")
    run.pending[0] = run.pending[0].model_copy(update={"arguments": {"ticket_id": 9}})
    with pytest.raises(ApprovalRefused, match="does not match its call"):
        check_binding(run, decision)


def test_an_approval_already_consumed_by_the_run_is_a_replay() -> None:
    run = paused_run()
    decision = ApprovalDecision.approve(run.pending[0], approver="ana")
    run.consumed_approvals.append(decision.approval_id)
    with pytest.raises(ApprovalRefused, match=r"was already used \(replay\)"):
        check_binding(run, decision)


def test_a_mapping_of_decisions_becomes_bound_decisions() -> None:
    run = paused_run()
    pending = run.pending[0]
    decided = normalise_decisions({pending.approval_id: False}, run, "ana")
    assert decided == [ApprovalDecision.deny(pending, approver="ana")]


def test_a_mapping_naming_a_used_approval_says_so() -> None:
    run = paused_run()
    used = run.pending.pop()
    run.consumed_approvals.append(used.approval_id)
    with pytest.raises(ApprovalRefused, match="is already used in run run-1"):
        normalise_decisions({used.approval_id: True}, run, "ana")
    with pytest.raises(ApprovalRefused, match="is not pending in run run-1"):
        normalise_decisions({"apr_other": True}, run, "ana")


def test_decision_objects_and_none_pass_through() -> None:
    run = paused_run()
    decision = ApprovalDecision.approve(run.pending[0], approver="ana")
    assert normalise_decisions(iter([decision]), run, "x") == [decision]
    assert normalise_decisions(None, run, "x") == []


def test_the_memory_ledger_accepts_each_id_once() -> None:
    ledger = MemoryLedger()
    assert ledger.consume("apr_1") is True
    assert ledger.consume("apr_2") is True
    assert ledger.consume("apr_1") is False


class Answering:
    name = "bot"

    def __init__(self, answer: object, delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay

    async def __call__(self, request: PendingApproval) -> bool:
        await asyncio.sleep(self.delay)
        return self.answer  # type: ignore[return-value]


async def test_an_inline_yes_is_an_approval() -> None:
    pending = paused_run().pending[0]
    assert await ask(Answering(True), pending, 1.0) == InlineAnswer(True, "")


async def test_only_a_literal_true_approves() -> None:
    pending = paused_run().pending[0]
    assert await ask(Answering("yes"), pending, 1.0) == InlineAnswer(False, "")
    assert await ask(Answering(1), pending, 1.0) == InlineAnswer(False, "")


async def test_no_inline_answer_within_the_patience_is_a_no() -> None:
    pending = paused_run().pending[0]
    assert await ask(Answering(True, delay=5.0), pending, 0.01) == InlineAnswer(False, "timed out")
