"""The limits of one run, and the one place each is checked.

A run is checked at three points of its loop, by the runner and by ``agentkit policy
explain`` alike:

* before a model request (`check_before_request`): turns and cost end the run (turns are
  counted only here: a turn cannot begin past the limit, so no call of it can exist). The
  cost is what the responses reported (reasoning included); `max_output_tokens` bounds only
  visible output, so it bounds no cost. A response whose cost is unknown ends a run that has
  a cost budget: the budget could no longer be kept;
* before a tool call (`check_tool_call`): calls past the tool-call limit, or past the cost
  budget (which includes the usage of the turn that proposed them), are denied, so the calls
  before them still run;
* after a tool error (`check_tool_errors`): a model that keeps making bad calls ends the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from agentkit.decision import Decision, History
from agentkit.errors import BudgetExceeded, MaxTurnsExceeded, TooManyToolErrors

_N = TypeVar("_N", int, float)


@dataclass(frozen=True, slots=True)
class RunLimits:
    """Budgets of one run; None means unlimited."""

    max_turns: int | None = None
    """Model turns per run."""
    max_tool_calls: int | None = None
    """Tool calls per run that run or will run (allowed, or confirmed and approved)."""
    max_cost_usd: float | None = None
    """Model cost per run, in US dollars, as the responses reported it (reasoning tokens
    included), or as the price table computed it when they did not."""
    max_tool_errors: int | None = None
    """Invalid calls and tool failures the model may make before the run stops."""

    def stricter(self, other: RunLimits) -> RunLimits:
        """Each limit the smaller of the two."""
        return RunLimits(
            max_turns=_smaller(self.max_turns, other.max_turns),
            max_tool_calls=_smaller(self.max_tool_calls, other.max_tool_calls),
            max_cost_usd=_smaller(self.max_cost_usd, other.max_cost_usd),
            max_tool_errors=_smaller(self.max_tool_errors, other.max_tool_errors),
        )

    def check_before_request(
        self, run_id: str, turns: int, cost_usd: float, *, unpriced: int = 0
    ) -> None:
        """Raise when the run may not ask the model again.

        Args:
            unpriced: responses so far whose cost neither the API nor the price table gave.

        Raises:
            MaxTurnsExceeded: `turns` model turns are done and that is the limit.
            BudgetExceeded: the run has spent its cost budget, or cannot tell what it spent.
        """
        if self.max_turns is not None and turns >= self.max_turns:
            raise MaxTurnsExceeded(
                f"run {run_id} reached {self.max_turns} model turns",
                limit="max_turns",
                value=self.max_turns,
            )
        if self.max_cost_usd is not None and cost_usd >= self.max_cost_usd:
            raise BudgetExceeded(
                f"run {run_id} spent ${cost_usd:.4f} of its ${self.max_cost_usd:.4f} budget",
                limit="max_cost_usd",
                value=self.max_cost_usd,
            )
        if self.max_cost_usd is not None and unpriced:
            raise BudgetExceeded(
                f"run {run_id} cannot keep to its ${self.max_cost_usd:.4f} budget: {unpriced} "
                "response(s) reported no cost and the price table could not price them (add "
                "the model, or the X search items it fetched, to the client's PriceTable)",
                limit="max_cost_usd",
                value=self.max_cost_usd,
            )

    def check_tool_call(self, history: History) -> Decision | None:
        """A deny when one more call would pass a limit, else None."""
        if self.max_tool_calls is not None:
            done = sum(1 for c in history.calls if c.executed)
            if done >= self.max_tool_calls:
                return _deny(
                    "run_limits.max_tool_calls",
                    f"the run reached its limit of {self.max_tool_calls} tool calls",
                )
        if self.max_cost_usd is not None and history.cost_usd >= self.max_cost_usd:
            return _deny(
                "run_limits.max_cost_usd",
                f"the run spent its budget of ${self.max_cost_usd:.2f} "
                f"(${history.cost_usd:.4f} so far)",
            )
        return None

    def check_tool_errors(self, run_id: str, errors: int) -> None:
        """Raise TooManyToolErrors once `errors` passes the limit."""
        if self.max_tool_errors is not None and errors > self.max_tool_errors:
            raise TooManyToolErrors(
                f"run {run_id}: {errors} invalid or failed tool calls",
                limit="max_tool_errors",
                value=self.max_tool_errors,
            )


@runtime_checkable
class HasRunLimits(Protocol):
    """An authoriser that carries run limits of its own (a `Policy` does)."""

    @property
    def run_limits(self) -> RunLimits: ...


def _smaller(a: _N | None, b: _N | None) -> _N | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _deny(rule: str, reason: str) -> Decision:
    return Decision(action="deny", reason=reason, rule=rule)
