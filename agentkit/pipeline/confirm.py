"""Stage confirm: a person's approval, bound to exactly one call, used at most once.

An approval names (run id, call id, tool, SHA-256 of the canonical arguments). The runner
refuses an approval that does not match its pending call in every part, one for a call
that is no longer pending, and one already used once.

Two ways to decide:

* inline: the agent has an `Approver` (a terminal prompt, a callback); the run waits for
  it, up to a timeout that counts as a denial;
* paused: no approver; the run ends with status ``awaiting_approval`` and its pending
  approvals, is stored anywhere (see `ApprovalStore`), and `Agent.resume(run, decisions)`
  continues it, in this process or another.

A ledger remembers used approval ids, so an approval cannot be spent twice.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentkit.canonical import canonical_json
from agentkit.decision import Principal
from agentkit.errors import (
    ApprovalRefused,
    ConfigError,
    RunStateError,
    RunStateTampered,
    StaleRunState,
)
from agentkit.sealing import Sealer, default_sealer
from agentkit.state import PendingApproval, RunResult, arguments_digest
from agentkit.who_approves import Approvers, Signer, check_signers


def approval_id_for(
    run_id: str, call_id: str, tool: str, arguments_sha256: str, sealer: Sealer
) -> str:
    """The id of the approval of one exact call, sealed: nobody without the key can mint one."""
    return "apr_" + sealer.seal("approval", run_id, call_id, tool, arguments_sha256)[:32]


def pending_approval(
    run_id: str,
    call_id: str,
    tool: str,
    arguments: dict[str, Any],
    *,
    reason: str,
    rule: str,
    now: float,
    sealer: Sealer | None = None,
    approvers: Approvers | None = None,
) -> PendingApproval:
    """The approval request for one call; `sealer` defaults to the deployment's,
    `approvers` to anyone deciding alone."""
    digest = arguments_digest(arguments)
    return PendingApproval(
        approval_id=approval_id_for(run_id, call_id, tool, digest, sealer or default_sealer()),
        run_id=run_id,
        call_id=call_id,
        tool=tool,
        arguments=arguments,
        arguments_sha256=digest,
        reason=reason,
        rule=rule,
        requested_at=now,
        approvers=approvers or Approvers(),
    )


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    """A person's answer to one pending approval."""

    approval_id: str
    approved: bool
    run_id: str
    call_id: str
    tool: str
    arguments_sha256: str
    approver: str = "unknown"
    note: str = ""
    ledger: ApprovalLedger | None = field(default=None, compare=False, repr=False)
    """The ledger of the store that recorded this decision; the approval is consumed there."""
    signers: tuple[Signer, ...] = ()
    """Everyone who decided, with their roles (a two-person rule needs two); empty: the
    `approver` alone, with no roles."""

    @property
    def who(self) -> tuple[Signer, ...]:
        """The people this decision is theirs."""
        return self.signers or (Signer(user_id=self.approver),)

    @classmethod
    def approve(
        cls, pending: PendingApproval, *, approver: str, note: str = ""
    ) -> ApprovalDecision:
        return cls._for(pending, True, approver, note)

    @classmethod
    def deny(cls, pending: PendingApproval, *, approver: str, note: str = "") -> ApprovalDecision:
        return cls._for(pending, False, approver, note)

    @classmethod
    def _for(
        cls, pending: PendingApproval, approved: bool, approver: str, note: str
    ) -> ApprovalDecision:
        return cls(
            approval_id=pending.approval_id,
            approved=approved,
            run_id=pending.run_id,
            call_id=pending.call_id,
            tool=pending.tool,
            arguments_sha256=pending.arguments_sha256,
            approver=approver,
            note=note,
        )


def applied_here(run: RunResult, decision: ApprovalDecision) -> bool:
    """A store's verdict this state already applied (an earlier, partial resume): skipped.
    A decision the caller made up for a used approval is still refused by `check_binding`."""
    return decision.ledger is not None and decision.approval_id in run.consumed_approvals


def check_binding(
    run: RunResult, decision: ApprovalDecision, sealer: Sealer | None = None
) -> PendingApproval:
    """The pending approval `decision` answers, or ApprovalRefused saying why not."""
    if decision.approval_id in run.consumed_approvals:
        raise ApprovalRefused(f"approval {decision.approval_id} was already used (replay)")
    pending = next((p for p in run.pending if p.approval_id == decision.approval_id), None)
    if pending is None:
        raise ApprovalRefused(f"approval {decision.approval_id} is not pending in run {run.run_id}")
    step = run.step(pending.call_id)
    current_digest = arguments_digest(step.arguments)
    expected = (run.run_id, pending.call_id, pending.tool, current_digest)
    given = (decision.run_id, decision.call_id, decision.tool, decision.arguments_sha256)
    if (
        given != expected
        or pending.arguments_sha256 != current_digest
        or arguments_digest(pending.arguments) != current_digest
    ):
        raise ApprovalRefused(
            f"approval {decision.approval_id} does not match its call "
            "(run, call, tool and arguments must all be the ones shown to the approver)"
        )
    if approval_id_for(*expected, sealer or default_sealer()) != decision.approval_id:
        raise ApprovalRefused(f"approval {decision.approval_id} is not bound to this call")
    return pending


def check_deciders(
    run: RunResult, decision: ApprovalDecision, pending: PendingApproval, now: float
) -> None:
    """Refuse a decision by people the policy does not let decide `pending` (their roles,
    their own call, too few of them for an approval, or too late): `who_approves`.

    Raises:
        ApprovalRefused: what is missing, naming the ``approvers`` entry.
    """
    outcome = check_signers(
        pending.approvers,
        requester=run.principal.user_id,
        approved=decision.approved,
        signers=decision.who,
        requested_at=pending.requested_at,
        now=now,
    )
    if outcome == "waiting":
        raise ApprovalRefused(
            f"approval {pending.approval_id} needs {pending.approvers.required} distinct "
            f"approvers, {len(decision.who)} approved ({pending.approvers.rule})"
        )


def normalise_decisions(
    decisions: Iterable[ApprovalDecision] | Mapping[str, bool] | None, run: RunResult, approver: str
) -> list[ApprovalDecision]:
    """Accept decisions as objects, or as {approval_id: approved} for the pending approvals.

    A verdict is a `bool` and nothing else ("false", 0 and None are mistakes, not a no). The
    same decision given twice counts once; two different verdicts on one approval are refused.

    Raises:
        ConfigError: a verdict is not a bool, or an item is not an ApprovalDecision.
        ApprovalRefused: an approval is not pending, or gets two different verdicts.
    """
    if decisions is None:
        return []
    if isinstance(decisions, Mapping):
        given = [
            _from_mapping(run, approval_id, approved, approver)
            for approval_id, approved in decisions.items()
        ]
    else:
        given = [_checked(decision) for decision in decisions]
    unique: dict[str, ApprovalDecision] = {}
    for decision in given:
        earlier = unique.setdefault(decision.approval_id, decision)
        if earlier.approved is not decision.approved:
            raise ApprovalRefused(f"approval {decision.approval_id} was both approved and denied")
    return list(unique.values())


def _from_mapping(
    run: RunResult, approval_id: str, approved: object, approver: str
) -> ApprovalDecision:
    pending = next((p for p in run.pending if p.approval_id == approval_id), None)
    if pending is None:
        state = "already used" if approval_id in run.consumed_approvals else "not pending"
        raise ApprovalRefused(f"approval {approval_id} is {state} in run {run.run_id}")
    return ApprovalDecision._for(pending, _verdict(approval_id, approved), approver, "")


def _checked(decision: object) -> ApprovalDecision:
    if not isinstance(decision, ApprovalDecision):
        raise ConfigError(
            f"a decision must be an ApprovalDecision, got {type(decision).__name__}; "
            "or pass {approval_id: True | False}"
        )
    _verdict(decision.approval_id, decision.approved)
    return decision


def _verdict(approval_id: str, approved: object) -> bool:
    if not isinstance(approved, bool):
        raise ConfigError(f"the verdict on {approval_id} must be True or False, got {approved!r}")
    return approved


# --- the paused state, sealed -------------------------------------------------------------


def seal_state(run: RunResult, sealer: Sealer) -> None:
    """Seal the paused `run` (everything in it but the seal) under the deployment key."""
    run.seal = sealer.seal("run", _state_text(run))


def check_state(run: RunResult, sealer: Sealer, principal: Principal | None) -> None:
    """Refuse a paused state that is not exactly as it was sealed, or another principal's.

    Raises:
        RunStateTampered: the seal is missing or does not match the state.
        RunStateError: `principal` is given and is not the run's.
    """
    if not sealer.check(run.seal, "run", _state_text(run)):
        raise RunStateTampered(
            f"run {run.run_id} does not carry the seal it was paused with: it was changed "
            "after it paused, or was sealed under another key (see AGENTKIT_SEAL_KEY)"
        )
    if principal is not None and principal != run.principal:
        raise RunStateError(
            f"run {run.run_id} belongs to {run.principal.user_id!r}, not {principal.user_id!r}"
        )


@runtime_checkable
class ApprovalWitness(Protocol):
    """A record of used approvals that a rollback of the approvals store cannot undo unseen
    (`agentkit.audit.AuditLog`: its chain, guarded by its anchor)."""

    def spent_approvals(self, run_id: str) -> Mapping[str, int] | None: ...


@runtime_checkable
class RemembersUse(Protocol):
    """A ledger that can say whether an approval was used, without using it."""

    def was_used(self, approval_id: str) -> bool: ...


def check_not_used(run: RunResult, ledgers: Iterable[ApprovalLedger]) -> None:
    """Refuse a paused state that waits on an approval a ledger records as used: an old copy
    of the run, resumed after the approval was spent.

    Raises:
        StaleRunState: the state is older than the ledger's record of it.
    """
    for ledger in ledgers:
        if not isinstance(ledger, RemembersUse):
            continue
        for pending in run.pending:
            if ledger.was_used(pending.approval_id):
                raise StaleRunState(
                    f"run {run.run_id} waits on approval {pending.approval_id}, which was "
                    "already used: this state is older than the ledger's record of the run "
                    "(an old copy) and is not resumed"
                )


def check_fresh(run: RunResult, witness: object) -> None:
    """Refuse a paused state older than the witness's record of its run: one still waiting on
    an approval the witness saw used, or lacking one the witness saw used in it.

    An old state is authentic (its seal matches), so only a record kept elsewhere tells it
    from the current one: a rolled-back store, or a copy kept from before a resume.

    Raises:
        StaleRunState: the state is older than the record.
    """
    if not isinstance(witness, ApprovalWitness):
        return
    spent = witness.spent_approvals(run.run_id)
    if not spent:
        return
    for pending in run.pending:
        if pending.approval_id in spent:
            raise StaleRunState(
                f"run {run.run_id} waits on approval {pending.approval_id}, which the audit "
                f"log records as used (record {spent[pending.approval_id]}): this state is "
                "older than the run (a rolled-back store or an old copy) and is not resumed"
            )
    missing = sorted(set(spent) - set(run.consumed_approvals))
    if missing:
        raise StaleRunState(
            f"run {run.run_id} does not know approval {missing[0]}, which the audit log "
            f"records as used in it (record {spent[missing[0]]}): this state is older than "
            "the run (a rolled-back store or an old copy) and is not resumed"
        )


def _state_text(run: RunResult) -> str:
    return canonical_json(run.model_dump(mode="json", exclude={"seal"}))


def sealed_json(run: RunResult, sealer: Sealer) -> str:
    """`run` as JSON carrying the seal of its state now; `run` itself is left as it is."""
    data = run.model_dump(mode="json", exclude={"seal"})
    data["seal"] = sealer.seal("run", canonical_json(data))
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# --- the seams: who decides inline, and who remembers used approvals ------------------------


class Approver(Protocol):
    """Decides pending approvals inline, while the run waits."""

    name: str

    async def __call__(self, request: PendingApproval) -> bool: ...


class ApprovalLedger(Protocol):
    """Remembers used approval ids; `consume` returns False for one already used."""

    @property
    def durable(self) -> bool:
        """Whether every process that may resume a run shares this ledger (a file, a database)."""
        ...

    def consume(self, approval_id: str) -> bool: ...


class MemoryLedger:
    """Replay protection within one process, for the runs paused in it."""

    durable = False

    def __init__(self) -> None:
        self._used: set[str] = set()
        self._paused: set[str] = set()
        self._lock = threading.Lock()

    def consume(self, approval_id: str) -> bool:
        with self._lock:
            if approval_id in self._used:
                return False
            self._used.add(approval_id)
            return True

    def was_used(self, approval_id: str) -> bool:
        with self._lock:
            return approval_id in self._used

    def clear(self) -> None:
        """Forget every used approval and pause (for tests that need a fresh process)."""
        with self._lock:
            self._used.clear()
            self._paused.clear()

    def remember_pause(self, run_id: str) -> None:
        """Note that `run_id` paused in this process, under this ledger."""
        with self._lock:
            self._paused.add(run_id)

    def paused_here(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._paused


PROCESS_LEDGER = MemoryLedger()
"""The ledger of every runner in this process that was given none: fresh agents share it."""


def ledgers_for(
    run: RunResult, decisions: Iterable[ApprovalDecision], own: ApprovalLedger
) -> list[ApprovalLedger]:
    """Every ledger a resume must consume each approval in: its own, and the store's that
    recorded the decisions. Single use holds across processes only with a durable one.

    Raises:
        ConfigError: the run paused in another process (or under another ledger) and no
            ledger that every process shares takes part.
    """
    found: list[ApprovalLedger] = [own]
    for decision in decisions:
        # two ApprovalStore objects on one file are one ledger (`==`): consuming an
        # approval in both would refuse it as a replay
        if decision.ledger is not None and all(decision.ledger != f for f in found):
            found.append(decision.ledger)
    paused_here = isinstance(own, MemoryLedger) and own.paused_here(run.run_id)
    if not paused_here and not any(ledger.durable for ledger in found):
        raise ConfigError(
            f"run {run.run_id} did not pause in this process, so nothing here can tell whether "
            "its approvals were already used: resume it with a ledger every process shares, "
            "Agent(approvals=ApprovalStore(path)), or with decisions from "
            "ApprovalStore.decisions()"
        )
    return sorted(found, key=lambda ledger: not ledger.durable)  # durable first


@dataclass(frozen=True, slots=True)
class InlineAnswer:
    """What an inline approver said, within the timeout or not."""

    approved: bool
    note: str = ""


async def ask(approver: Approver, request: PendingApproval, patience: float) -> InlineAnswer:
    """Ask `approver` about `request`; no answer within `patience` seconds is a no."""
    try:
        approved = await asyncio.wait_for(approver(request), timeout=patience)
    except TimeoutError:
        return InlineAnswer(False, "timed out")
    return InlineAnswer(approved is True)
