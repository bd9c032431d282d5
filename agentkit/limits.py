"""Floors no authoriser can lower: destructive calls are confirmed; run limits take the stricter."""

from __future__ import annotations

from dataclasses import dataclass

from agentkit.decision import Authoriser, Decision
from agentkit.tool import Tool


def destructive_floor(tool: Tool, decision: Decision) -> Decision:
    """A destructive tool always waits for a person, whatever the authoriser said."""
    if decision.action != "allow" or not tool.destructive:
        return decision
    return Decision(
        action="confirm",
        reason=f"{tool.name} is destructive: a person must confirm it ({decision.reason})",
        rule=decision.rule,
    )


@dataclass(frozen=True, slots=True)
class RunLimits:
    max_turns: int
    max_tool_calls: int
    max_cost_usd: float | None = None


def effective_limits(max_turns: int, max_tool_calls: int, authoriser: Authoriser) -> RunLimits:
    """The stricter of the run configuration and the policy's own run limits."""
    limits = getattr(authoriser, "run_limits", None)
    turns = getattr(limits, "max_turns", None)
    calls = getattr(limits, "max_tool_calls", None)
    return RunLimits(
        max_turns=min(max_turns, turns) if turns else max_turns,
        max_tool_calls=min(max_tool_calls, calls) if calls else max_tool_calls,
        max_cost_usd=getattr(limits, "max_cost_usd", None),
    )
