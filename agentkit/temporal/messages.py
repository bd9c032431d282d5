"""What the durable-run workflow and its activities pass each other: plain dataclasses of
JSON-plain fields (the run's state travels as its sealed JSON), so a workflow's history
reads as our own records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunStart:
    """Start a durable run."""

    run_id: str
    prompt: str
    principal: dict[str, Any]
    """`agentkit.Principal` as JSON."""
    turn_timeout: float = 600.0
    """Seconds one turn (a model request and the calls it asks for) may take."""
    heartbeat_timeout: float = 10.0
    """Seconds without a heartbeat after which a turn's worker counts as dead."""


@dataclass
class TurnInput:
    """One activity's work: continue `state`, with `decisions` when it paused."""

    run_id: str
    state: str | None = None
    """The sealed state (a checkpoint, or the paused run); None: start from the prompt."""
    prompt: str | None = None
    principal: dict[str, Any] | None = None
    decisions: list[Decided] = field(default_factory=list)
    consumed: list[str] = field(default_factory=list)
    """Approvals earlier activities of this run used (the workflow is their ledger)."""


@dataclass
class TurnOutcome:
    """Where the run is after one activity: running (at a checkpoint), paused, or ended."""

    status: str
    state: str
    pending: list[dict[str, Any]] = field(default_factory=list)
    """Paused: each pending approval as JSON (`agentkit.state.PendingApproval`)."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """The turn's events as the wire shows them (`agentkit.events.RunEvent.to_dict`)."""


@dataclass
class DecideApproval:
    """An approval decision, sent as the workflow update ``decide``."""

    approval_id: str
    approved: bool
    approver: str
    roles: list[str] = field(default_factory=list)
    arguments_sha256: str = ""
    """The arguments the approver saw: a decision for other arguments is refused."""
    note: str = ""


@dataclass
class Decided:
    """A settled approval: its verdict and everyone who signed it."""

    approval_id: str
    approved: bool
    approver: str
    signers: list[dict[str, Any]]
    note: str = ""


@dataclass
class EffectStarted:
    """Sent by an activity (a signal) before a call that changes something runs."""

    call_id: str
    attempt: int


@dataclass
class ResolveEffect:
    """A person's word on a call whose worker died while it ran (the update ``resolve``)."""

    ran: bool
    """True: it took effect (the run ends, its output is lost); False: run the turn again."""
    resolver: str


@dataclass
class RunEnd:
    """What the workflow returns."""

    status: str
    state: str | None
    error: str | None = None
