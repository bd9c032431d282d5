"""A case's expectations, checked against the run it made: one `CheckResult` each.

Everything is read from the `RunResult`: the tools called are its steps in order, the
policy's word is each step's decision and status, the answer is its output.
"""

from __future__ import annotations

import inspect
import json
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import jsonschema

from agentkit.evals.dataset import (
    AnswerExpectation,
    ArgumentExpectation,
    EvalBudget,
    Expectations,
    Occurrence,
    Outcome,
    PolicyExpectation,
    ToolsExpectation,
)
from agentkit.evals.references import resolve
from agentkit.evals.results import CheckResult
from agentkit.state import RunResult, Step

Judge = Callable[[str | None, RunResult], Any]
"""``judge(answer, run)``: a bool, ``(bool, reason)``, or an awaitable of either."""

_AFTER_A_PERSON_SAID_YES = {"approved", "ok", "failed", "timed_out"}


async def check_run(expected: Expectations, run: RunResult) -> list[CheckResult]:
    """Every check `expected` makes of `run`, in a stable order."""
    checks = [check_status(expected, run)]
    if expected.tools is not None:
        checks.append(check_tools(expected.tools, run))
    checks += [check_arguments(e, run, i) for i, e in enumerate(expected.arguments)]
    checks += [check_policy(e, run, i) for i, e in enumerate(expected.policy)]
    if expected.answer is not None:
        checks += await check_answer(expected.answer, run)
    if expected.budget is not None:
        checks += check_budget(expected.budget, run)
    return checks


def check_status(expected: Expectations, run: RunResult) -> CheckResult:
    """The run ended as expected; with no expectation, it did not fail."""
    error = f": {run.error.type}: {run.error.message}" if run.error else ""
    if expected.status is None:
        ok = run.status != "failed"
        return CheckResult(name="status", passed=ok, detail="" if ok else f"run failed{error}")
    ok = run.status == expected.status
    detail = "" if ok else f"expected {expected.status}, got {run.status}{error}"
    return CheckResult(name="status", passed=ok, detail=detail)


def check_tools(expected: ToolsExpectation, run: RunResult) -> CheckResult:
    """The tools called, against `expected`'s list, order and extras."""
    called = [step.tool for step in run.steps]
    problems = []
    named = set(expected.expected)
    extras_allowed = expected.extras_allowed
    relevant = [t for t in called if t in named] if extras_allowed else called
    if expected.order == "exact" and relevant != expected.expected:
        problems.append(f"expected exactly {_list(expected.expected)}")
    elif expected.order == "in_order" and not _is_subsequence(expected.expected, called):
        order = " in this order" if len(expected.expected) > 1 else ""
        problems.append(f"expected {_list(expected.expected)}{order}")
    elif expected.order == "any_order":
        missing = Counter(expected.expected) - Counter(called)
        if missing:
            problems.append(f"expected {_list(list(missing.elements()))} to be called")
    extra = sorted({tool for tool in called if tool not in named})
    if not extras_allowed and extra and expected.order != "exact":
        problems.append(f"unexpected {_list(extra)}")
    forbidden = [tool for tool in expected.forbidden if tool in called]
    if forbidden:
        problems.append(f"must not call {_list(forbidden)}")
    detail = f"{'; '.join(problems)}; called {_list(called)}" if problems else ""
    return CheckResult(name="tools", passed=not problems, detail=detail)


def _is_subsequence(wanted: list[str], seen: Iterable[str]) -> bool:
    remaining = iter(seen)
    return all(any(tool == want for tool in remaining) for want in wanted)


def _list(names: list[str]) -> str:
    return ", ".join(names) if names else "no tool"


def check_arguments(expected: ArgumentExpectation, run: RunResult, index: int) -> CheckResult:
    """The chosen calls of one tool have the expected argument values / match the schema."""
    name = f"arguments[{index}] {expected.tool}"
    steps = [step for step in run.steps if step.tool == expected.tool]
    if not steps:
        return CheckResult(name=name, passed=False, detail=f"{expected.tool} was never called")
    problems = [_argument_problems(expected, step) for step in steps]
    ok, shown = _by_occurrence(expected.occurrence, problems)
    detail = "" if ok else f"{expected.tool} ({expected.occurrence} call): {'; '.join(shown)}"
    return CheckResult(name=name, passed=ok, detail=detail)


def _argument_problems(expected: ArgumentExpectation, step: Step) -> list[str]:
    arguments = step.arguments
    if arguments is None:
        return [f"arguments did not parse: {step.raw_arguments[:200]!r}"]
    problems = []
    for key, value in expected.equals.items():
        if key not in arguments:
            problems.append(f"{key}: expected {_json(value)}, missing")
        elif arguments[key] != value:
            problems.append(f"{key}: expected {_json(value)}, got {_json(arguments[key])}")
    if expected.json_schema is not None:
        validator = jsonschema.Draft202012Validator(expected.json_schema)
        for error in sorted(validator.iter_errors(arguments), key=lambda e: list(e.path)):
            where = "/".join(str(p) for p in error.path) or "arguments"
            problems.append(f"{where}: {error.message}")
    return problems


def _by_occurrence(occurrence: Occurrence, problems: list[list[str]]) -> tuple[bool, list[str]]:
    """Whether the chosen occurrence(s) passed (no problems), and the problems to show."""
    if occurrence == "first":
        return not problems[0], problems[0]
    if occurrence == "last":
        return not problems[-1], problems[-1]
    if occurrence == "any":
        ok = any(not found for found in problems)
        return ok, [] if ok else problems[0]
    failing = [(i, found) for i, found in enumerate(problems) if found]
    return not failing, [f"call {i + 1}: {'; '.join(found)}" for i, found in failing]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def outcomes(step: Step) -> set[Outcome]:
    """Everything that can be said of what happened to `step` (a call may be both
    ``needs_approval`` and ``approved``, and ``ran``)."""
    found: set[Outcome] = set()
    action = step.decision.action if step.decision else None
    if action == "allow":
        found.add("allowed")
    elif action == "deny" or step.status == "denied":
        found.add("denied")
    elif action == "confirm":
        found.add("needs_approval")
        if step.status == "declined":
            found.add("declined")
        elif step.status in _AFTER_A_PERSON_SAID_YES:
            found.add("approved")
    if step.status == "ok":
        found.add("ran")
    return found


def check_policy(expected: PolicyExpectation, run: RunResult, index: int) -> CheckResult:
    """The policy (or a person) did `expected.outcome` to the chosen calls of the tool."""
    name = f"policy[{index}] {expected.tool} {expected.outcome}"
    steps = [step for step in run.steps if step.tool == expected.tool]
    if not steps:
        return CheckResult(name=name, passed=False, detail=f"{expected.tool} was never called")
    problems = [_policy_problems(expected, step) for step in steps]
    ok, shown = _by_occurrence(expected.occurrence, problems)
    detail = "" if ok else f"{expected.tool} ({expected.occurrence} call): {'; '.join(shown)}"
    return CheckResult(name=name, passed=ok, detail=detail)


def _policy_problems(expected: PolicyExpectation, step: Step) -> list[str]:
    rule = step.decision.rule if step.decision else None
    problems = []
    if expected.outcome not in outcomes(step):
        said = f", rule {rule}" if rule else ""
        problems.append(f"expected {expected.outcome}, got {step.status}{said}")
    if expected.rule is not None and not _rule_matches(expected.rule, rule):
        problems.append(f"expected rule {expected.rule}, got {rule or 'none'}")
    return problems


def _rule_matches(expected: str, rule: str | None) -> bool:
    return rule is not None and (rule == expected or rule.startswith(expected + "."))


async def check_answer(expected: AnswerExpectation, run: RunResult) -> list[CheckResult]:
    """The final answer's checks: contains, not_contains, schema, judge."""
    answer = run.output
    if answer is None:
        detail = f"the run gave no answer (status {run.status})"
        return [CheckResult(name="answer", passed=False, detail=detail)]
    checks = []
    fold: Callable[[str], str] = (lambda s: s) if expected.case_sensitive else str.casefold
    if expected.contains:
        missing = [text for text in expected.contains if fold(text) not in fold(answer)]
        detail = f"missing {', '.join(map(repr, missing))} in {_quote(answer)}" if missing else ""
        checks.append(CheckResult(name="answer.contains", passed=not missing, detail=detail))
    if expected.not_contains:
        found = [text for text in expected.not_contains if fold(text) in fold(answer)]
        detail = f"should not say {', '.join(map(repr, found))}" if found else ""
        checks.append(CheckResult(name="answer.not_contains", passed=not found, detail=detail))
    if expected.json_schema is not None:
        checks.append(_answer_schema(expected.json_schema, answer))
    if expected.judge is not None:
        checks.append(await _judged(expected.judge, answer, run))
    return checks


def _quote(answer: str, limit: int = 120) -> str:
    return repr(answer if len(answer) <= limit else answer[: limit - 3] + "...")


def _answer_schema(schema: dict[str, Any], answer: str) -> CheckResult:
    try:
        value = json.loads(answer)
    except ValueError:
        return CheckResult(name="answer.schema", passed=False, detail="the answer is not JSON")
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(value)
    )
    if error is None:
        return CheckResult(name="answer.schema", passed=True)
    where = "/".join(str(p) for p in error.path) or "answer"
    return CheckResult(name="answer.schema", passed=False, detail=f"{where}: {error.message}")


async def _judged(reference: str, answer: str, run: RunResult) -> CheckResult:
    name = f"answer.judge {reference}"
    judge = resolve(reference, what="judge")
    if not callable(judge):
        return CheckResult(name=name, passed=False, detail=f"{reference} is not callable")
    try:
        verdict = judge(answer, run)
        if inspect.isawaitable(verdict):
            verdict = await verdict
    except Exception as exc:  # a judge's bug fails its check, not the evaluation
        return CheckResult(name=name, passed=False, detail=f"the judge raised {exc!r}")
    if isinstance(verdict, tuple) and len(verdict) == 2:
        return CheckResult(name=name, passed=bool(verdict[0]), detail=str(verdict[1]))
    return CheckResult(name=name, passed=bool(verdict), detail="" if verdict else "judged wrong")


def check_budget(expected: EvalBudget, run: RunResult) -> list[CheckResult]:
    """The run stayed within the tool calls and model requests allowed."""
    checks = []
    if expected.max_tool_calls is not None:
        calls = len(run.steps)
        ok = calls <= expected.max_tool_calls
        detail = "" if ok else f"{calls} tool calls, at most {expected.max_tool_calls} allowed"
        checks.append(CheckResult(name="budget.tool_calls", passed=ok, detail=detail))
    if expected.max_model_requests is not None:
        requests = run.totals.requests
        ok = requests <= expected.max_model_requests
        detail = "" if ok else f"{requests} model requests, at most {expected.max_model_requests}"
        checks.append(CheckResult(name="budget.model_requests", passed=ok, detail=detail))
    return checks
