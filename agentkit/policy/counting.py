"""Rate limits and cumulative quotas: the counting part of a decision (run limits: run_limits)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentkit.decision import Decision, History, PastCall, ProposedCall, SideEffect
from agentkit.policy.constraints import is_missing, resolve
from agentkit.policy.spec import Escalation, RateLimit

WINDOW_SECONDS = 60.0


def check_rate(
    rule: str,
    limit: RateLimit,
    member: Callable[[PastCall], bool],
    tool_names: frozenset[str],
    history: History,
) -> Decision | None:
    """Deny when the calls counted by ``member`` reached the limit.

    Args:
        rule: id of the limit, for example ``tools.send_email.rate_limit``.
        limit: the limit.
        member: whether a past call counts.
        tool_names: the rate-window keys that count: a tool's name, or a class's
            ``class_key`` (every tool of the class, in every run and agent).
        history: the run so far.
    """
    if limit.per_run is not None:
        used = sum(1 for c in history.calls if c.executed and member(c))
        if used >= limit.per_run:
            return _deny(f"{rule}.per_run", f"rate limit: at most {limit.per_run} calls per run")
    if limit.per_minute is not None:
        since = history.now - WINDOW_SECONDS
        window = history.principal_recent_calls
        recent = sum(
            1 for key in tool_names for t in window.get(key, ()) if since < t <= history.now
        )
        if recent >= limit.per_minute:
            return _deny(
                f"{rule}.per_minute",
                f"rate limit: at most {limit.per_minute} calls per minute; try again later",
            )
    return None


@dataclass(frozen=True)
class CompiledQuota:
    """A quota with its argument path split, ready to sum."""

    id: str
    path: tuple[str, ...]
    field: str
    max: float
    tools: frozenset[str]
    classes: frozenset[SideEffect]
    action: Escalation
    reason: str

    def applies(self, tool: str, classes: frozenset[SideEffect]) -> bool:
        if not self.tools and not self.classes:
            return True
        return tool in self.tools or bool(classes & self.classes)


def check_quota(
    quota: CompiledQuota,
    call: ProposedCall,
    history: History,
    classes_of: Callable[[PastCall], frozenset[SideEffect]],
) -> Decision | None:
    """Escalate when this call would take the run's sum past the quota."""
    rule = f"quotas.{quota.id}"
    current = _amount(call.arguments, quota.path)
    if current is None:
        return _deny(rule, f"quota {quota.id}: {quota.field} must be a number")
    spent = 0.0
    for past in history.calls:
        if past.executed and quota.applies(past.tool, classes_of(past)):
            spent += _amount(past.arguments, quota.path) or 0.0
    if spent + current <= quota.max:
        return None
    reason = quota.reason or (
        f"quota {quota.id}: {quota.field} would total {spent + current:g} in this run, "
        f"over the cap of {quota.max:g} ({spent:g} used)"
    )
    return Decision(action=quota.action, reason=reason, rule=rule)


def _amount(arguments: Mapping[str, Any], path: tuple[str, ...]) -> float | None:
    value = resolve(arguments, path)
    if is_missing(value):
        return 0.0
    total = 0.0
    for item in value if isinstance(value, list) else (value,):
        if isinstance(item, bool) or not isinstance(item, int | float) or item != item:
            return None
        total += abs(float(item))
    return total


def _deny(rule: str, reason: str) -> Decision:
    return Decision(action="deny", reason=reason, rule=rule)
