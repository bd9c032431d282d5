"""Run state: plain data, serialisable to JSON after every stage.

A run can stop after any stage (waiting for a person, a crash, a deploy) and continue in
another process from this record alone. `RunResult` is both the state and what
`Agent.run` returns.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from agentkit.canonical import sha256_of
from agentkit.decision import Decision, OutputLog, Principal
from agentkit.errors import RunStateError
from agentkit.output_paths import FieldLabels
from agentkit.who_approves import Approvers

ModelT = TypeVar("ModelT", bound=BaseModel)
RunStatus = Literal["running", "completed", "awaiting_approval", "failed"]
StepStatus = Literal[
    "pending",
    "invalid",
    "unknown_tool",
    "denied",
    "awaiting_approval",
    "approved",
    "declined",
    "ok",
    "failed",
    "timed_out",
    "server",
]
"""`approved`: a person approved it and it waits for the turn's other approvals before it runs.
`server`: a server-side tool (web_search, x_search) that xAI ran; its results are untrusted."""


def arguments_digest(arguments: Any) -> str:
    """SHA-256 of the canonical JSON of a call's arguments: what an approval is bound to."""
    return sha256_of(arguments)


class Step(BaseModel):
    """One tool call and everything that happened to it."""

    model_config = ConfigDict(extra="forbid")

    call_id: str
    tool: str
    turn: int
    raw_arguments: str
    """The arguments string exactly as the model sent it."""
    arguments: dict[str, Any] | None = None
    """Parsed arguments, once they parsed as a JSON object."""
    status: StepStatus = "pending"
    decision: Decision | None = None
    output: str | None = None
    """The text sent back to the model."""
    data: Any = None
    """The output's structure as plain JSON, beside its text, when the tool returned a
    structure (a dict, a list, a model) small enough to keep; None for a text output."""
    fields: FieldLabels | None = None
    """How the fields of `data` were labelled, when the policy labels them one by one."""
    untrusted: bool = False
    truncated: bool = False
    cached: bool = False
    """The policy keeps this read tool's results, and this one was served from them."""
    citations: list[str] = Field(default_factory=list)
    error: str | None = None
    """The error text the model received, when the tool body failed or timed out."""
    error_type: str | None = None
    """The exception class name, when the tool body failed (``ToolTimeout`` on a timeout)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Facts the tool reported about its output (a search's cache hit, a query's tables)."""
    started_at: float = 0.0
    duration_ms: float = 0.0
    approver: str | None = None


class PendingApproval(BaseModel):
    """A call waiting for a person. Nothing of it has run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    approval_id: str
    run_id: str
    call_id: str
    tool: str
    arguments: dict[str, Any]
    arguments_sha256: str
    reason: str
    rule: str
    requested_at: float
    approvers: Approvers = Field(default_factory=Approvers)
    """Who may decide it, as the policy said when the call was made (sealed with the run)."""


class UsageTotals(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    image_tokens: int = 0
    """Chat Completions reports them (`prompt_tokens_details.image_tokens`); Responses does
    not break input tokens down, so there it stays 0."""
    total_tokens: int = 0
    cost_usd: float = 0.0
    tool_cost_usd: float = 0.0
    """What tools said they spent (``ToolOutput(metadata={"cost_usd": ...})``: an image or a
    video generated); part of `cost_usd`, so a run's budget covers it."""
    queued_ms: float = 0.0
    """Time the run's requests waited for the model's rate allowance (a `RateGate`)."""
    tool_cache_hits: int = 0
    """Calls answered from the tool-result cache instead of running the tool."""

    @property
    def prompt_cache_hit_rate(self) -> float:
        """The share of input tokens the server answered from its prompt cache (0 to 1)."""
        return self.cached_tokens / self.input_tokens if self.input_tokens else 0.0


class Grounding(BaseModel):
    """The citations of a grounded answer (``RunConfig(grounded=True)``)."""

    model_config = ConfigDict(extra="forbid")

    cited: list[str] = Field(default_factory=list)
    """Every ``chunk:<id>`` / ``file:<id>`` the answer cites, in order."""
    unsupported: list[str] = Field(default_factory=list)
    """Citations of sources the run never retrieved: made up, or planted."""
    retrieved: list[str] = Field(default_factory=list)
    """Everything the run's searches returned."""

    @property
    def ok(self) -> bool:
        """The answer cites something, and only what the run retrieved."""
        return bool(self.cited) and not self.unsupported


class RunError(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    message: str


class _Memo(dict[str, Any]):
    """Caches derived from one list of steps: a copy of the run starts without them (they
    hold locks, and would describe the steps of the run copied)."""

    def __init__(self, steps: list[Step] | None = None) -> None:
        super().__init__()
        self.steps = steps

    def __copy__(self) -> _Memo:
        return _Memo()

    def __deepcopy__(self, memo: dict[int, Any]) -> _Memo:
        return _Memo()


class RunResult(BaseModel):
    """The state of a run, and its result once it ends."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    agent: str
    model: str
    principal: Principal
    status: RunStatus = "running"
    output: str | None = None
    """The final answer (text, or JSON text for structured output)."""
    steps: list[Step] = Field(default_factory=list)
    pending: list[PendingApproval] = Field(default_factory=list)
    usage: list[dict[str, Any]] = Field(default_factory=list)
    """One normalised usage record per model request."""
    totals: UsageTotals = Field(default_factory=UsageTotals)
    citations: list[str] = Field(default_factory=list)
    structured: Any = None
    """The final answer parsed as JSON, when the agent has an `output_type`."""
    grounding: Grounding | None = None
    """With ``RunConfig(grounded=True)``: the answer's citations, checked."""
    error: RunError | None = None
    called_by: str | None = None
    """Who made the run's one call when no model proposes calls (``"mcp"``: a client of
    `agentkit mcp serve`): such a run holds that call alone, and ends with it."""

    # --- what continuing the run needs ---
    conversation: list[dict[str, Any]] = Field(default_factory=list)
    """Responses-API input items so far (the stateless transcript resent each turn)."""
    user_messages: list[str] = Field(default_factory=list)
    turn: int = 0
    tool_errors: int = 0
    corrections: int = 0
    open_calls: list[str] = Field(default_factory=list)
    """call ids of the current turn whose outputs are not yet in the conversation."""
    consumed_approvals: list[str] = Field(default_factory=list)
    previous_response_id: str | None = None
    pseudonyms: dict[str, Any] | None = None
    """The placeholders the model saw for redacted values, and those values
    (`agentkit.privacy`); sealed with the state, never shown to the model."""
    server_has: int = 0
    """How many conversation items the server already holds (with `previous_response_id`)."""
    started_at: float = 0.0
    ended_at: float | None = None
    seal: str | None = None
    """While paused: the MAC of this state under the deployment key (`agentkit.sealing`)."""
    _memo: _Memo = PrivateAttr(default_factory=lambda: _Memo())

    def memo(self) -> dict[str, Any]:
        """What the stages keep about this run in memory to decide faster: derived from its
        steps, never serialised. A run read back from JSON, a copy, and a run given another
        list of steps start with none."""
        if self._memo.steps is not self.steps:
            self._memo = _Memo(self.steps)
        return self._memo

    def output_log(self) -> OutputLog:
        """The log of this run's outputs that decisions index (in memory only: a run read
        back from JSON starts a new one, filled from its steps)."""
        memo = self.memo()
        log = memo.get("outputs")
        if not isinstance(log, OutputLog):
            log = memo["outputs"] = OutputLog()
        return log

    def __eq__(self, other: object) -> bool:
        """Run states are equal when their fields are (the output log is a cache of them)."""
        if not isinstance(other, RunResult):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    @property
    def cost_usd(self) -> float:
        return self.totals.cost_usd

    def step(self, call_id: str) -> Step:
        for step in reversed(self.steps):  # ids are unique; the one asked for is recent
            if step.call_id == call_id:
                return step
        raise KeyError(call_id)

    def parsed(self, model: type[ModelT]) -> ModelT:
        """The structured answer as an instance of `model`."""
        if self.structured is None:
            raise RunStateError(f"run {self.run_id} has no structured output")
        return model.model_validate(self.structured)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> RunResult:
        """A run state from its JSON.

        Raises:
            RunStateError: the text is not the JSON of a run state.
        """
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the state"
            raise RunStateError(
                f"not a run state: {where}: {first['msg']} ({exc.error_count()} problem(s))"
            ) from None
