"""Stage authorise: run limits, the authoriser's decision and the destructive floor.

What a decision may know about the past is derived from the run state, never stored twice.
"""

from __future__ import annotations

from collections.abc import Mapping

from agentkit.decision import (
    Authoriser,
    Decision,
    History,
    OutputLog,
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
from agentkit.pipeline.turn import StepIds
from agentkit.pipeline.validate import ValidCall
from agentkit.run_limits import RunLimits
from agentkit.state import RunResult, Step
from agentkit.tool import Tool

__all__ = [
    "PROCESS_RATE_WINDOW",
    "RATE_WINDOW_SECONDS",
    "EarlierCalls",
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


class EarlierCalls:
    """Settled steps of ended runs, in order, with what decisions derive from them built as
    each is added: the calls a history lists, and the log of their outputs (whose indexes
    an authoriser keeps). A run seeded with them (`seed`) starts from these instead of
    building them again from every step, so deciding with a long history in view costs
    what deciding with a short one does. Append-only."""

    def __init__(self, tools: Mapping[str, Tool]) -> None:
        self.tools = tools
        """The tools the steps are calls of, by name."""
        self.steps: list[Step] = []
        self._settled = _SettledSteps()
        self._outputs = OutputLog()
        self._ids: set[str] = set()

    def __len__(self) -> int:
        return len(self.steps)

    def add(self, step: Step) -> None:
        """Take in one more settled step (one whose stages are all done)."""
        if step.status not in _SETTLED:
            raise ValueError(f"step {step.call_id} is {step.status}, not settled")
        self.steps.append(step)
        self._ids.add(step.call_id)
        settled = self._settled
        settled.steps, settled.last = settled.steps + 1, step
        call = past_call(step, self.tools, step.started_at)
        if call is not None:
            settled.calls += (call,)
            settled.ids.add(call.call_id)
            self._outputs.record((call,))

    def seed(self, run: RunResult) -> None:
        """Give `run`, which has no steps yet, these steps and what is derived from them."""
        if run.steps:
            raise ValueError(f"run {run.run_id} has steps already")
        run.steps = list(self.steps)  # the run appends its own: never to these
        memo = run.memo()
        settled = _SettledSteps()
        settled.steps, settled.last = self._settled.steps, self._settled.last
        settled.calls, settled.ids = self._settled.calls, set(self._settled.ids)
        memo["settled"] = settled
        memo["outputs"] = self._outputs  # append-only; a run of one call adds none to it
        memo["step_ids"] = StepIds.of(self.steps, self._ids)


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
    """The decision on one valid call: a limit it would pass, else the authoriser's, floored.

    The run's `limits` count its own calls. A run of a client's one call (``called_by``)
    has none before it: the earlier calls in its history are other runs', which the
    authoriser sees (its data-flow rules, and its policy's own run limits, count them).
    """
    own = history if run.called_by is None else history.model_copy(update={"calls": ()})
    limited = limits.check_tool_call(own)
    if limited is not None:
        return limited
    proposed = ProposedCall.model_construct(
        call_id=call_id, tool=call.tool.info, arguments=call.data
    )
    decision = authoriser.decide(run.principal, proposed, history)
    return confirmation_floor(decision, call.tool.name, (call.tool.side_effect,))
