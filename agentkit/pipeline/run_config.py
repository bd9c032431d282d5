"""`RunConfig`: the limits and request options a run is started with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentkit.pipeline.execute import DEFAULT_STRUCTURE_CAP
from agentkit.pipeline.label import DEFAULT_OUTPUT_CAP
from agentkit.run_limits import RunLimits


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Limits and request options of a run."""

    max_turns: int = 12
    max_tool_calls: int = 32
    """Tool calls that run or will run; calls past it are denied, the ones before still run."""
    max_tool_errors: int = 6
    """Invalid calls and tool failures the model may make before the run stops."""
    max_cost_usd: float | None = None
    """Estimated model cost per run, in US dollars."""
    output_cap: int = DEFAULT_OUTPUT_CAP
    structure_cap: int = DEFAULT_STRUCTURE_CAP
    """Characters of a structured output's JSON up to which the run keeps its structure for
    the policy (provenance and trust by field); a larger one is kept as text only."""
    approval_timeout: float = 300.0
    stream: bool = False
    parallel_tool_calls: bool = True
    chain_responses: bool = False
    """Send only new items plus `previous_response_id` (xAI keeps responses for 30 days);
    the default resends the whole conversation and keeps nothing on the server's word."""
    request_options: Mapping[str, Any] = field(default_factory=dict)
    """Extra ModelRequest fields (temperature, max_output_tokens, reasoning_effort, ...)."""
    task: str | None = None
    """The kind of work (``analysis``, ``lookup``, ...), for a model router's rules."""
    latency_budget_ms: int | None = None
    """How long a caller can wait for each answer, for a model router's rules."""
    grounded: bool = False
    """Ask the model to cite retrieved chunks and files, and check every citation against
    what the run retrieved (`RunResult.grounding`; `agentkit.pipeline.grounding`)."""

    @property
    def limits(self) -> RunLimits:
        return RunLimits(
            max_turns=self.max_turns,
            max_tool_calls=self.max_tool_calls,
            max_cost_usd=self.max_cost_usd,
            max_tool_errors=self.max_tool_errors,
        )
