"""Stage authorise: run limits, the authoriser's decision and the destructive floor.

What a decision may know about the past is derived from the run state, never stored twice.
"""

from __future__ import annotations

from collections.abc import Mapping

from agentkit.decision import (
    Authoriser,
    Decision,
    History,
    PastCall,
    ProposedCall,
    class_key,
    confirmation_floor,
)
from agentkit.pipeline.rate_window import (
    PROCESS_RATE_WINDOW,
    RATE_WINDOW_SECONDS,
    RateWindow,
    RecentCalls,
)
from agentkit.pipeline.validate import ValidCall
from agentkit.run_limits import RunLimits
from agentkit.state import RunResult, Step
from agentkit.tool import Tool

__all__ = [
    "PROCESS_RATE_WINDOW",
    "RATE_WINDOW_SECONDS",
    "RateWindow",
    "RecentCalls",
    "authorise",
    "count_call",
    "history_for",
    "past_call",
]

_RAN = frozenset({"ok", "failed", "timed_out", "server"})
# a step in one of these states is done: no stage changes it again
_SETTLED = _RAN | {"denied", "declined", "invalid", "unknown_tool"}
# a call waiting for a person, or approved and waiting for the others, may still run: it
# counts against quotas, rate limits and per-run caps like one that ran
_NOT_RUN = frozenset({"denied", "declined", "invalid", "unknown_tool"})


def past_call(step: Step, tools: Mapping[str, Tool], at: float) -> PastCall | None:
    """How an earlier step looks to the policy; None for calls that never reached a decision."""
    if step.decision is None or step.arguments is None:
        return None
    tool = tools.get(step.tool)
    ran = step.status in _RAN
    # a call allowed earlier in the same turn has not run yet, but will: it counts as executed
    executed = ran or (step.status not in _NOT_RUN and step.decision.action != "deny")
    return PastCall.model_construct(
        call_id=step.call_id,
        tool=step.tool,
        side_effect=tool.side_effect if tool else "read",
        arguments=step.arguments,
        action=step.decision.action,
        executed=executed,
        untrusted_output=step.untrusted,
        output=step.output if ran else None,
        data=step.data if ran else None,
        fields=step.fields if ran else None,
        failed=step.status in ("failed", "timed_out"),
        approved_by=step.approver if executed and _approved(step) else None,
        at=at,
    )


def _approved(step: Step) -> bool:
    """A person approved the call (a step's approver is also the person who declined it).
    The caller adds that the call may still run: an approval a stage overruled since (a
    limit reached while it waited) vouches for nothing, as a declined one does not."""
    return step.approver is not None and step.status not in ("declined", "awaiting_approval")


def count_call(recent: RateWindow, user_id: str, tool: Tool, at: float) -> None:
    """Note one call that may run in the principal's minute, under its tool and its class, so
    a class's per-minute limit counts every tool of the class in every run and agent."""
    recent.add(user_id, tool.name, at)
    recent.add(user_id, class_key(tool.side_effect), at)


class _SettledSteps:
    """The calls of the run's leading steps that are settled (no stage changes them again),
    kept for the run so that a history is not built again from every step at every decision."""

    __slots__ = ("calls", "ids", "last", "steps")

    def __init__(self) -> None:
        self.steps = 0
        self.calls: tuple[PastCall, ...] = ()
        self.ids: set[str] = set()
        self.last: Step | None = None

    def extend(self, run: RunResult, tools: Mapping[str, Tool]) -> tuple[PastCall, ...]:
        """Take in the steps settled since the last time; returns their calls."""
        if self.steps and (
            len(run.steps) < self.steps or run.steps[self.steps - 1] is not self.last
        ):
            self.steps, self.calls, self.ids = 0, (), set()  # other steps: read them again
        count = self.steps
        while count < len(run.steps) and run.steps[count].status in _SETTLED:
            count += 1
        new = tuple(
            call
            for step in run.steps[self.steps : count]
            if (call := past_call(step, tools, step.started_at)) is not None
        )
        if count > self.steps:
            self.steps, self.last = count, run.steps[count - 1]
            self.calls += new
            self.ids.update(call.call_id for call in new)
        return new


def _settled_steps(run: RunResult) -> _SettledSteps:
    memo = run.memo()
    settled = memo.get("settled")
    if not isinstance(settled, _SettledSteps):
        settled = memo["settled"] = _SettledSteps()
    return settled


def history_for(
    run: RunResult,
    tools: Mapping[str, Tool],
    *,
    now: float,
    recent: RateWindow,
    leaving_out: str | None = None,
) -> History:
    """What a decision may know; `leaving_out` names the call being decided again.

    The outputs among the calls go to the run's output log, once each, where the policy
    indexes what they offer as sources instead of reading them all at every decision.
    """
    settled = _settled_steps(run)
    fresh = settled.extend(run, tools)
    prefix, start = settled.calls, settled.steps
    if leaving_out in settled.ids:
        prefix, start = (), 0  # never in a run: only a call still to run is decided again
    calls = prefix + tuple(
        call
        for step in run.steps[start:]
        if step.call_id != leaving_out
        and (call := past_call(step, tools, step.started_at)) is not None
    )
    outputs = run.output_log()
    outputs.record(fresh)  # only a settled step has an output
    return History.model_construct(
        run_id=run.run_id,
        turn=run.turn,
        calls=calls,
        user_messages=tuple(run.user_messages),
        cost_usd=run.totals.cost_usd,
        now=now,
        principal_recent_calls=recent.snapshot(run.principal.user_id, now),
        outputs=outputs,
    )


def authorise(
    authoriser: Authoriser,
    limits: RunLimits,
    run: RunResult,
    call_id: str,
    call: ValidCall,
    history: History,
) -> Decision:
    """The decision on one valid call: a limit it would pass, else the authoriser's, floored."""
    limited = limits.check_tool_call(history)
    if limited is not None:
        return limited
    proposed = ProposedCall.model_construct(
        call_id=call_id, tool=call.tool.info, arguments=call.data
    )
    decision = authoriser.decide(run.principal, proposed, history)
    return confirmation_floor(decision, call.tool.name, (call.tool.side_effect,))
