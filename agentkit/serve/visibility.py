"""Who sees which approval: the one rule the API and the page share."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from agentkit.decision import Principal
from agentkit.state import PendingApproval

if TYPE_CHECKING:
    from agentkit.approval_store import ApprovalStore, StoredApproval


async def find_approval(store: ApprovalStore, approval_id: str) -> StoredApproval | None:
    rows = await asyncio.to_thread(store.approvals, None)
    return next((r for r in rows if r.pending.approval_id == approval_id), None)


async def visible_pending(
    store: ApprovalStore, row: StoredApproval, who: Principal
) -> PendingApproval | None:
    """The sealed pending call if `who` may see it: the run's own principal, or someone of
    its workspace whose roles the approvers rule accepts (never the requester approving
    what they may not)."""
    state = await asyncio.to_thread(store.load, row.pending.run_id)
    pending = next((p for p in state.pending if p.approval_id == row.pending.approval_id), None)
    if pending is None:
        return None
    owner = state.principal
    if owner.user_id == who.user_id and owner.workspace == who.workspace:
        return pending
    if owner.workspace != who.workspace:
        return None
    roles = pending.approvers.roles
    return pending if roles is None or set(roles) & set(who.roles) else None
