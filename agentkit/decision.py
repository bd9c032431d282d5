"""The inputs and output of authorisation: who asks, what is asked, what happened before.

These are the types of the one decision function every call passes through::

    decide(principal, call, history) -> Decision

They are plain frozen data so that a decision is reproducible from the run state alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, Protocol, TypeVar, cast, get_args, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from agentkit.output_paths import FieldLabels
from agentkit.who_approves import Approvers

_T = TypeVar("_T")

Action = Literal["allow", "deny", "confirm"]
SideEffect = Literal[
    "read",
    "write",
    "destructive",
    "external_send",
    "financial",
    "device_control",
    "security_settings",
    "media",
]
SIDE_EFFECTS: tuple[SideEffect, ...] = get_args(SideEffect)
ALWAYS_CONFIRMED: tuple[SideEffect, ...] = ("destructive", "security_settings", "device_control")
"""Classes whose calls a person confirms whatever an authoriser says (the floor): they
destroy data, change who can get into an account, or act in the physical world, and none
of that can be undone by the agent."""


def class_key(side_effect: SideEffect) -> str:
    """The rate-window key under which every call of a side-effect class is counted (a tool
    name cannot contain a colon, so the two never meet)."""
    return f"class:{side_effect}"


class Principal(BaseModel):
    """Who is asking. Set by the embedding application; the model can never change it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = "anonymous"
    """Stable id of the person on whose behalf the agent acts."""
    roles: tuple[str, ...] = ()
    """Roles the policy grants tools to."""
    workspace: str | None = None
    """Tenant or workspace, for policies that differ between them."""
    tier: str | None = None
    """The principal's service tier (``gold``, ...), for a model router's rules."""


class ToolInfo(BaseModel):
    """What the policy may know about a tool: never its code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    side_effect: SideEffect = "read"
    untrusted_output: bool = False
    """Output comes from outside (web pages, messages, user rows): data, not instructions."""
    parameters: dict[str, Any] = Field(default_factory=dict)
    """The tool's strict JSON Schema."""
    class_from_hints: bool = False
    """The side-effect class is the tool's own default (an MCP server's hints): a class
    the policy declares replaces it instead of contradicting it."""
    labels_own_output: bool = False
    """The tool labels some of its outputs untrusted itself (database rows read from
    untrusted columns): its output is not trusted by declaration alone."""

    @property
    def destructive(self) -> bool:
        return self.side_effect == "destructive"


class ProposedCall(BaseModel):
    """A tool call the model asked for, after its arguments parsed and validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    call_id: str
    tool: ToolInfo
    arguments: dict[str, Any]


class PastCall(BaseModel):
    """One earlier call of the run, as the policy sees it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    call_id: str
    tool: str
    side_effect: SideEffect
    arguments: dict[str, Any]
    action: Action
    """What the decision was."""
    executed: bool
    """Whether the tool body ran or may still run: allowed, approved, or waiting for a person.
    Quotas, rate limits and run caps count these."""
    untrusted_output: bool = False
    """The output counts as untrusted (the model saw it framed as untrusted data)."""
    output: str | None = None
    """The output text sent back to the model, when the tool ran."""
    data: Any = None
    """The output's structure as plain JSON, when the tool returned one (a dict, a list, a
    model) and the runner kept it; None for a text output."""
    fields: FieldLabels | None = None
    """How the fields of `data` are labelled, when the policy labels them one by one (a
    field untrusted in an output that counts as untrusted may still be a trusted source)."""
    failed: bool = False
    """The tool raised or timed out: its output is an error message, never a trusted source."""
    approved_by: str | None = None
    """Who approved the call, when a person approved it and no stage denied it since (it
    ran, or may still run): its arguments are values a person vouched for (see
    ``approvals`` and ``provenance.approved`` in docs/policy.md)."""
    at: float = 0.0
    """Unix time of the decision."""

    @property
    def approved(self) -> bool:
        """A person approved the call and it ran or may still run (`approved_by` says who)."""
        return self.approved_by is not None


class OutputLog:
    """The outputs of one run's calls, each recorded once, in the order the runner saw them.

    Append-only, thread-safe and never serialised: the runner keeps one per run and hands
    it to every decision (`History.outputs`), so an authoriser can work out what an output
    contributes once, when it is recorded, and keep that (`derived`) instead of reading
    every earlier output again at every decision. A resumed run starts a new log.
    """

    __slots__ = ("_calls", "_derived", "_ids", "_lock")

    def __init__(self) -> None:
        self._calls: list[PastCall] = []
        self._ids: set[str] = set()
        self._derived: dict[str, object] = {}
        self._lock = threading.Lock()

    def record(self, calls: Iterable[PastCall]) -> None:
        """Add the calls not recorded yet (by call id) that ran and have an output."""
        with self._lock:
            for call in calls:
                if call.call_id in self._ids or not has_output(call):
                    continue
                self._ids.add(call.call_id)
                self._calls.append(call)

    def __len__(self) -> int:
        return len(self._calls)

    def since(self, start: int) -> list[PastCall]:
        """The calls recorded after the first `start`."""
        with self._lock:
            return self._calls[start:]

    def derived(self, key: str, build: Callable[[], _T]) -> _T:
        """What an authoriser keeps beside the log under `key`, built on first use."""
        with self._lock:
            if key not in self._derived:
                self._derived[key] = build()
            return cast(_T, self._derived[key])


def has_output(call: PastCall) -> bool:
    """True when the call ran and its output (text or structure) entered the run."""
    return call.executed and (call.data is not None or bool(call.output))


class History(BaseModel):
    """Everything before the current call that a decision may depend on."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    run_id: str = ""
    turn: int = 0
    """Model turns completed so far, counting the one that proposed this call."""
    calls: tuple[PastCall, ...] = ()
    user_messages: tuple[str, ...] = ()
    """Text the principal wrote: the trusted source of argument values."""
    cost_usd: float = 0.0
    """Estimated model cost of the run so far."""
    now: float = 0.0
    """Unix time of this decision (injected so decide() stays pure)."""
    principal_recent_calls: Mapping[str, tuple[float, ...]] = Field(default_factory=dict)
    """Unix times of this principal's calls in the last minute, across runs and agents: per
    tool name, and per side-effect class under ``class_key(side_effect)``. The runner
    passes a view that reads a key's times when they are asked for: look up the keys
    you need rather than walking every item."""
    outputs: OutputLog | None = Field(default=None, exclude=True, repr=False)
    """The run's log of outputs, which the runner sets: the outputs of `calls`, recorded once
    each, for authorisers that index them. None in a History built by hand; then `calls`
    are read instead."""

    def __eq__(self, other: object) -> bool:
        """Histories are equal when what they say is: the log is a cache of `calls`."""
        if not isinstance(other, History):
            return NotImplemented
        return all(
            getattr(self, name) == getattr(other, name)
            for name in History.model_fields
            if name != "outputs"
        )

    @property
    def untrusted_seen(self) -> bool:
        """True once any untrusted tool output has entered the run."""
        return any(c.executed and c.untrusted_output for c in self.calls)


class Decision(BaseModel):
    """The verdict on one call and the rule that made it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    reason: str
    """A message for the model and the transcript."""
    rule: str
    """Stable id of the deciding rule (for example ``tools.close_ticket``, ``default-deny``)."""
    approvers: Approvers | None = None
    """For ``confirm``: who may decide (the policy's ``approvers``); None: the defaults."""


_FLOOR_REASONS = {
    "destructive": "is destructive",
    "security_settings": "changes security settings",
    "device_control": "controls a device",
}


def confirmation_floor(decision: Decision, tool: str, classes: Iterable[SideEffect]) -> Decision:
    """The floor no authoriser can lower: a call of an `ALWAYS_CONFIRMED` class that would be
    allowed is confirmed; the rule is named after the class (``destructive``, ...).

    The one home of the rule: `decide()` applies it to the classes the call has (so
    ``agentkit policy explain`` shows it) and the runner applies it to every authoriser's
    decision with the tool's own class (so a custom one cannot skip it).
    """
    if decision.action != "allow":
        return decision
    found = set(classes)
    for side_effect in ALWAYS_CONFIRMED:
        if side_effect in found:
            return Decision(
                action="confirm",
                reason=f"{tool} {_FLOOR_REASONS[side_effect]}: a person must confirm it",
                rule=side_effect,
            )
    return decision


def destructive_floor(decision: Decision, tool: str, *, destructive: bool) -> Decision:
    """`confirmation_floor` for a call that is destructive or not."""
    return confirmation_floor(decision, tool, ("destructive",) if destructive else ())


class Authoriser(Protocol):
    """The seam the runner calls for every validated call."""

    def decide(self, principal: Principal, call: ProposedCall, history: History) -> Decision: ...


class ToolOverrides(BaseModel):
    """What an authoriser adds to a tool's own declaration; applied when the runner is built.

    An override only ever adds a guard: it marks output untrusted, names untrusted columns
    or fields, and a side-effect class must agree with the tool's own. Trusted fields frame
    nothing as trusted: they only name the fields provenance may take values from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    side_effect: SideEffect | None = None
    """The class the authoriser knows the tool by; building the runner fails if it differs."""
    untrusted_output: bool = False
    """Every output of the tool is untrusted, whatever the tool says of one output."""
    untrusted_columns: tuple[str, ...] = ()
    """Bare column names whose values are untrusted; only database tools can honour them."""
    trusted_fields: tuple[str, ...] = ()
    """Paths of fields of the tool's structured outputs that are trusted sources even in an
    output that counts as untrusted (``[].sender``; see `agentkit.output_paths`)."""
    untrusted_fields: tuple[str, ...] = ()
    """Paths of fields that are untrusted: an output holding one counts as untrusted."""


@runtime_checkable
class HasToolOverrides(Protocol):
    """An authoriser that adds to its tools' declarations (`agentkit.policy.Policy` does)."""

    def tool_overrides(self, name: str) -> ToolOverrides:
        """What it adds to the tool `name` (``ToolOverrides()`` for nothing)."""
        ...


class AllowAll:
    """Allows every call; destructive tools still need a person (the destructive floor)."""

    def decide(self, principal: Principal, call: ProposedCall, history: History) -> Decision:
        allowed = Decision(action="allow", reason="no policy configured", rule="no-policy")
        return confirmation_floor(allowed, call.tool.name, (call.tool.side_effect,))
