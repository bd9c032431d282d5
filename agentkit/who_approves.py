"""Who may decide a paused call: the one function the runner, the CLI and any service use.

A policy's ``approvers`` entries say, per tool or side-effect class (and, with ``when``,
per argument value), which roles may approve, whether the person the run is for may
approve their own call, how many distinct people must approve, and how long a request
stays open. The decision stamps these `Approvers` into the call's `PendingApproval`,
sealed with the run's state, so whoever later decides is checked against what the policy
said when the call was made, not against a store that could have been edited.

Without an entry, the defaults hold: anyone may decide, one approval suffices, and the
requester may not approve their own destructive, financial or external_send call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentkit.errors import ApprovalRefused

NO_SELF_APPROVAL: frozenset[str] = frozenset({"destructive", "financial", "external_send"})
"""Side-effect classes whose calls the requester may not approve by default."""

Outcome = Literal["approved", "denied", "waiting"]


class Approvers(BaseModel):
    """What an approval of one call needs (from the policy, fixed when the call paused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = "default"
    """The ``approvers`` entry that set this (``default`` when none matched)."""
    roles: tuple[str, ...] | None = None
    """Roles of which an approver needs one (with every role that includes them); None:
    anyone may decide."""
    self_approval: bool = True
    """Whether the person the run is for may approve it."""
    required: int = Field(default=1, ge=1)
    """Distinct approvers needed; one denial by anyone allowed to decide ends it."""
    expires_after: float | None = Field(default=None, gt=0)
    """Seconds after the request past which nobody can approve it."""


class Signer(BaseModel):
    """A person who decided: who they are and the roles the application vouches for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str
    roles: tuple[str, ...] = ()


def default_approvers(classes: Iterable[str]) -> Approvers:
    """The requirements of a call no ``approvers`` entry names."""
    guarded = NO_SELF_APPROVAL.intersection(classes)
    return Approvers(self_approval=not guarded)


def check_signers(
    approvers: Approvers,
    *,
    requester: str,
    approved: bool,
    signers: Sequence[Signer],
    requested_at: float,
    now: float,
) -> Outcome:
    """Whether `signers`' decision settles the call: approved, denied, or waiting for more.

    Raises:
        ApprovalRefused: a signer may not decide this call (a role is missing, it is their
            own call and the rule forbids that, the same person signs twice), or the
            request has expired.
    """
    if not signers:
        raise ApprovalRefused("a decision needs the person who made it")
    if approvers.expires_after is not None and now > requested_at + approvers.expires_after:
        if not approved:
            return "denied"  # nobody can approve it any more: declining it is all that is left
        raise ApprovalRefused(
            f"the approval request expired {approvers.expires_after:g} s after it was made "
            f"({approvers.rule})"
        )
    seen: set[str] = set()
    for signer in signers:
        if signer.user_id in seen:
            raise ApprovalRefused(f"{signer.user_id} cannot decide the same call twice")
        seen.add(signer.user_id)
        _check_one(approvers, signer, requester=requester, approved=approved)
    if not approved:
        return "denied"
    return "approved" if len(seen) >= approvers.required else "waiting"


def _check_one(approvers: Approvers, signer: Signer, *, requester: str, approved: bool) -> None:
    if approvers.roles is not None and not set(signer.roles) & set(approvers.roles):
        raise ApprovalRefused(
            f"{signer.user_id} may not decide this call: it needs one of the roles "
            f"{', '.join(sorted(approvers.roles))} ({approvers.rule})"
        )
    if approved and signer.user_id == requester and not approvers.self_approval:
        raise ApprovalRefused(
            f"{signer.user_id} may not approve their own call ({approvers.rule}): "
            "another person must"
        )
