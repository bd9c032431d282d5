"""Expectations checked against a run's steps: each one passes exactly when it should."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent, tool
from agentkit.decision import Decision, Principal
from agentkit.evals import (
    EvalOptions,
    Expectations,
    check_run,
    dataset_from_data,
    outcomes,
    run_case,
)
from agentkit.evals.results import CheckResult
from agentkit.state import RunResult, Step, UsageTotals


def _step(
    tool: str, arguments: dict[str, Any], status: str = "ok", action: str = "allow", rule: str = ""
) -> Step:
    decision = Decision.model_validate(
        {"action": action, "reason": "", "rule": rule or f"tools.{tool}"}
    )
    return Step.model_validate(
        {
            "call_id": f"c{tool}{len(arguments)}",
            "tool": tool,
            "turn": 0,
            "raw_arguments": "{}",
            "arguments": arguments,
            "status": status,
            "decision": decision,
        }
    )


def _run(
    *steps: Step, output: str | None = "done", status: str = "completed", requests: int = 2
) -> RunResult:
    return RunResult.model_validate(
        {
            "run_id": "r",
            "agent": "a",
            "model": "m",
            "principal": Principal(),
            "status": status,
            "output": output,
            "steps": list(steps),
            "totals": UsageTotals(requests=requests),
        }
    )


async def _checks(expected: dict[str, Any], run: RunResult) -> dict[str, CheckResult]:
    found = await check_run(Expectations.model_validate(expected), run)
    return {check.name: check for check in found}


LOOKUP = _step("lookup_ticket", {"ticket_id": 42})
LIST = _step("list_tickets", {"status": "open"})


@pytest.mark.parametrize(
    ("tools", "passed"),
    [
        ({"expected": ["list_tickets", "lookup_ticket"], "order": "exact"}, True),
        ({"expected": ["lookup_ticket", "list_tickets"], "order": "exact"}, False),
        ({"expected": ["lookup_ticket"], "order": "exact"}, False),  # an extra call
        ({"expected": ["lookup_ticket"], "order": "exact", "allow_extra": True}, True),
        ({"expected": ["list_tickets", "lookup_ticket"], "order": "in_order"}, True),
        ({"expected": ["lookup_ticket", "list_tickets"], "order": "in_order"}, False),
        ({"expected": ["lookup_ticket", "list_tickets"], "order": "any_order"}, True),
        ({"expected": ["lookup_ticket", "lookup_ticket"], "order": "any_order"}, False),
        ({"expected": ["lookup_ticket"], "allow_extra": False}, False),
        ({"expected": ["lookup_ticket"], "forbidden": ["list_tickets"]}, False),
        ({"expected": ["lookup_ticket"], "forbidden": ["close_ticket"]}, True),
    ],
)
async def test_tools_called_by_order_and_extras(tools: dict[str, Any], passed: bool) -> None:
    checks = await _checks({"tools": tools}, _run(LIST, LOOKUP))
    assert checks["tools"].passed is passed
    if not passed:
        assert "called list_tickets, lookup_ticket" in checks["tools"].detail


async def test_argument_values_and_schemas_by_occurrence() -> None:
    run = _run(_step("lookup_ticket", {"ticket_id": 41}), _step("lookup_ticket", {"ticket_id": 42}))
    expectations = {
        "arguments": [
            {"tool": "lookup_ticket", "equals": {"ticket_id": 42}},
            {"tool": "lookup_ticket", "occurrence": "last", "equals": {"ticket_id": 42}},
            {"tool": "lookup_ticket", "occurrence": "any", "equals": {"ticket_id": 42}},
            {
                "tool": "lookup_ticket",
                "occurrence": "all",
                "schema": {"properties": {"ticket_id": {"minimum": 42}}},
            },
            {"tool": "close_ticket", "equals": {"ticket_id": 42}},
        ]
    }
    checks = list((await _checks(expectations, run)).values())[1:]
    assert [c.passed for c in checks] == [False, True, True, False, False]
    assert checks[0].detail == "lookup_ticket (first call): ticket_id: expected 42, got 41"
    assert "call 1: ticket_id: 41 is less than the minimum of 42" in checks[3].detail
    assert checks[4].detail == "close_ticket was never called"


def test_each_step_says_what_the_policy_and_a_person_did() -> None:
    assert outcomes(_step("t", {}, "ok", "allow")) == {"allowed", "ran"}
    assert outcomes(_step("t", {}, "denied", "deny")) == {"denied"}
    assert outcomes(_step("t", {}, "awaiting_approval", "confirm")) == {"needs_approval"}
    assert outcomes(_step("t", {}, "ok", "confirm")) == {"needs_approval", "approved", "ran"}
    assert outcomes(_step("t", {}, "declined", "confirm")) == {"needs_approval", "declined"}


async def test_policy_outcomes_and_rules() -> None:
    page = _step(
        "page_oncall", {"recipient": "x"}, "denied", "deny", "tools.page_oncall.args.recipient"
    )
    expectations = {
        "policy": [
            {"tool": "page_oncall", "outcome": "denied", "rule": "tools.page_oncall"},
            {"tool": "page_oncall", "outcome": "denied", "rule": "tools.page"},
            {"tool": "page_oncall", "outcome": "allowed"},
        ]
    }
    checks = list((await _checks(expectations, _run(page))).values())[1:]
    assert [c.passed for c in checks] == [True, False, False]
    assert "expected rule tools.page, got tools.page_oncall.args.recipient" in checks[1].detail
    assert "expected allowed, got denied" in checks[2].detail


def _judge(answer: str | None, run: RunResult) -> tuple[bool, str]:
    return answer == '{"n": 4}', f"looked at {len(run.steps)} steps"


async def _async_judge(answer: str | None, run: RunResult) -> bool:
    return False


async def test_answer_checks() -> None:
    answer = {
        "contains": ['"N"'],
        "not_contains": ["error"],
        "schema": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}},
        "judge": "tests.unit.test_eval_checks:_judge",
    }
    good = await _checks({"answer": answer}, _run(output='{"n": 4}'))
    assert all(check.passed for check in good.values())
    assert good["answer.judge tests.unit.test_eval_checks:_judge"].detail == "looked at 0 steps"
    bad = await _checks(
        {"answer": {**answer, "case_sensitive": True}}, _run(output='{"n": "four"}')
    )
    assert not bad["answer.contains"].passed
    assert bad["answer.schema"].detail == "n: 'four' is not of type 'integer'"
    assert not bad["answer.judge tests.unit.test_eval_checks:_judge"].passed
    judged = await _checks(
        {"answer": {"judge": "tests.unit.test_eval_checks:_async_judge"}}, _run()
    )
    assert not judged["answer.judge tests.unit.test_eval_checks:_async_judge"].passed


async def test_a_run_without_an_answer_fails_the_answer_check() -> None:
    checks = await _checks(
        {"answer": {"contains": ["x"]}}, _run(output=None, status="awaiting_approval")
    )
    assert checks["answer"].detail == "the run gave no answer (status awaiting_approval)"


async def test_status_and_budgets() -> None:
    run = _run(LIST, LOOKUP, requests=3)
    assert (await _checks({}, run))["status"].passed
    assert not (await _checks({}, _run(status="failed")))["status"].passed
    assert not (await _checks({"status": "awaiting_approval"}, run))["status"].passed
    budget = await _checks({"budget": {"max_tool_calls": 1, "max_model_requests": 3}}, run)
    assert budget["budget.tool_calls"].detail == "2 tool calls, at most 1 allowed"
    assert budget["budget.model_requests"].passed


class Desk(Agent):
    """A small agent with one read tool and one that needs a person."""

    model = "grok-4-1-fast-non-reasoning"

    @tool
    def lookup(self, ticket_id: int) -> str:
        """Look a ticket up."""
        return f"ticket {ticket_id}: open"

    @tool(destructive=True)
    def close(self, ticket_id: int) -> str:
        """Close a ticket."""
        return f"closed {ticket_id}"


def _case(approve: str, **extra: Any) -> Any:
    data = {
        "cases": [
            {
                "name": "c",
                "approve": approve,
                "inputs": {"prompt": "close 7", **extra},
                "script": [
                    {"call": {"name": "close", "arguments": {"ticket_id": 7}}},
                    {"text": "closed 7"},
                ],
                "expected": {"policy": [{"tool": "close", "outcome": "needs_approval"}]},
            }
        ]
    }
    dataset = dataset_from_data(data)
    return dataset, dataset.cases[0]


@pytest.mark.parametrize(
    ("approve", "status", "step"),
    [
        ("none", "awaiting_approval", "awaiting_approval"),
        ("all", "completed", "ok"),
        ("decline", "completed", "declined"),
    ],
)
async def test_approvals_are_answered_as_the_case_says(
    approve: str, status: str, step: str
) -> None:
    dataset, case = _case(approve)
    record = await run_case(dataset, case, Desk, "grok-4-1-fast-non-reasoning", EvalOptions())
    assert record.status == status
    assert [call.status for call in record.calls] == [step]
    assert record.passed  # a paused run that needed approval passes its needs_approval check


async def test_a_conversation_is_the_transcript_before_the_prompt() -> None:
    conversation = [
        {"role": "user", "content": "ticket 7?"},
        {"role": "assistant", "content": "open"},
    ]
    dataset, case = _case("all", conversation=conversation)
    record = await run_case(dataset, case, Desk, "grok-4-1-fast-non-reasoning", EvalOptions())
    # the script's first turn answers the prompt, after the earlier answer
    assert [call.tool for call in record.calls] == ["close"]
    assert record.answer == "closed 7"
