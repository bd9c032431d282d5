"""Run limits: turns and cost before a request, tool calls and cost before a call, errors after."""

from __future__ import annotations

import pytest

from agentkit.decision import Decision, History, PastCall
from agentkit.errors import BudgetExceeded, MaxTurnsExceeded, TooManyToolErrors
from agentkit.run_limits import HasRunLimits, RunLimits


def calls(executed: int, not_executed: int = 0) -> tuple[PastCall, ...]:
    def one(i: int, ran: bool) -> PastCall:
        return PastCall(
            call_id=f"c{i}",
            tool="t",
            side_effect="read",
            arguments={},
            action="allow",
            executed=ran,
        )

    return tuple(one(i, True) for i in range(executed)) + tuple(
        one(executed + i, False) for i in range(not_executed)
    )


def test_stricter_takes_the_smaller_of_each_limit_and_keeps_a_lone_one() -> None:
    a = RunLimits(max_turns=5, max_tool_calls=None, max_cost_usd=2.0, max_tool_errors=3)
    b = RunLimits(max_turns=7, max_tool_calls=4, max_cost_usd=1.5, max_tool_errors=None)
    expected = RunLimits(max_turns=5, max_tool_calls=4, max_cost_usd=1.5, max_tool_errors=3)
    assert a.stricter(b) == expected
    assert b.stricter(a) == expected
    assert RunLimits().stricter(RunLimits()) == RunLimits()


def test_a_turn_may_begin_below_the_turn_limit_and_not_at_it() -> None:
    limits = RunLimits(max_turns=3)
    limits.check_before_request("r1", 2, 0.0)
    with pytest.raises(MaxTurnsExceeded) as info:
        limits.check_before_request("r1", 3, 0.0)
    assert str(info.value) == "run r1 reached 3 model turns"
    assert (info.value.limit, info.value.value) == ("max_turns", 3)


def test_a_request_is_refused_once_the_budget_is_spent() -> None:
    limits = RunLimits(max_cost_usd=0.5)
    limits.check_before_request("r1", 100, 0.4999)
    with pytest.raises(BudgetExceeded) as info:
        limits.check_before_request("r1", 0, 0.5)
    assert str(info.value) == "run r1 spent $0.5000 of its $0.5000 budget"
    assert (info.value.limit, info.value.value) == ("max_cost_usd", 0.5)


def test_no_limits_never_stop_a_run() -> None:
    limits = RunLimits()
    limits.check_before_request("r1", 10**6, 10**6)
    assert limits.check_tool_call(History(calls=calls(1000), cost_usd=1e9)) is None
    limits.check_tool_errors("r1", 10**6)


def test_the_tool_call_limit_counts_only_executed_calls() -> None:
    limits = RunLimits(max_tool_calls=2)
    assert limits.check_tool_call(History(calls=calls(1, not_executed=5))) is None
    assert limits.check_tool_call(History(calls=calls(2))) == Decision(
        action="deny",
        reason="the run reached its limit of 2 tool calls",
        rule="run_limits.max_tool_calls",
    )


def test_a_call_is_denied_once_the_budget_is_spent() -> None:
    limits = RunLimits(max_cost_usd=1.0)
    assert limits.check_tool_call(History(cost_usd=0.99)) is None
    assert limits.check_tool_call(History(cost_usd=1.0)) == Decision(
        action="deny",
        reason="the run spent its budget of $1.00 ($1.0000 so far)",
        rule="run_limits.max_cost_usd",
    )


def test_the_tool_call_limit_is_checked_before_the_budget() -> None:
    limits = RunLimits(max_tool_calls=1, max_cost_usd=1.0)
    decision = limits.check_tool_call(History(calls=calls(1), cost_usd=5.0))
    assert decision is not None
    assert decision.rule == "run_limits.max_tool_calls"


def test_errors_end_the_run_only_past_the_limit() -> None:
    limits = RunLimits(max_tool_errors=2)
    limits.check_tool_errors("r1", 2)
    with pytest.raises(TooManyToolErrors) as info:
        limits.check_tool_errors("r1", 3)
    assert str(info.value) == "run r1: 3 invalid or failed tool calls"
    assert (info.value.limit, info.value.value) == ("max_tool_errors", 2)


def test_an_authoriser_with_run_limits_is_recognised() -> None:
    class WithLimits:
        run_limits = RunLimits(max_turns=1)

    assert isinstance(WithLimits(), HasRunLimits)
    assert not isinstance(object(), HasRunLimits)
