"""Rate limits, run budgets, quotas and data-flow rules of the policy engine."""

from __future__ import annotations

import pytest

from agentkit.policy import Policy
from agentkit.testing.decisions import decide
from agentkit.testing.decisions import past_call as past
from agentkit.testing.decisions import proposed_call as call


def policy(body: str) -> Policy:
    return Policy.from_yaml("version: 1\n" + body)


RATE = """
classes:
  financial: {action: allow, rate_limit: {per_run: 2}}
tools:
  search: {action: allow, rate_limit: {per_run: 2, per_minute: 3}}
"""


def test_per_run_rate_limit_counts_executed_calls_only() -> None:
    p = policy(RATE)
    one = past("search")
    assert decide(p, call("search"), calls=(one,)).action == "allow"
    d = decide(p, call("search"), calls=(one, past("search")))
    assert (d.action, d.rule) == ("deny", "tools.search.rate_limit.per_run")
    refused = past("search", executed=False)
    assert decide(p, call("search"), calls=(one, refused)).action == "allow"


def test_per_minute_rate_limit_uses_the_principals_recent_calls() -> None:
    p = policy(RATE)
    now = 1_000.0
    recent = {"search": (now - 70, now - 50, now - 30, now - 10)}
    d = decide(p, call("search"), now=now, principal_recent_calls=recent)
    assert (d.action, d.rule) == ("deny", "tools.search.rate_limit.per_minute")
    older = {"search": (now - 70, now - 65, now - 10)}
    assert decide(p, call("search"), now=now, principal_recent_calls=older).action == "allow"


def test_class_rate_limit_spans_the_tools_of_the_class() -> None:
    p = policy(RATE)
    calls = (past("pay", "financial"), past("refund", "financial"))
    d = decide(p, call("transfer", "financial"), calls=calls)
    assert (d.action, d.rule) == ("deny", "classes.financial.rate_limit.per_run")


@pytest.mark.parametrize(
    ("history", "rule"),
    [
        ({"calls": (past("a"), past("b"))}, "run_limits.max_tool_calls"),
        ({"cost_usd": 0.5}, "run_limits.max_cost_usd"),
    ],
)
def test_run_budgets_deny_once_spent(history: dict[str, object], rule: str) -> None:
    p = policy(
        "run_limits: {max_turns: 3, max_tool_calls: 2, max_cost_usd: 0.5}\n"
        "tools: {a: {action: allow}}"
    )
    assert decide(p, call("a"), turn=3, cost_usd=0.49).action == "allow"
    d = decide(p, call("a"), **history)
    assert (d.action, d.rule) == ("deny", rule)
    assert p.run_limits.max_turns == 3


QUOTA = """
tools:
  pay: {action: allow, side_effect: financial}
  tip: {action: allow, side_effect: financial}
quotas:
  - {id: money, classes: [financial], sum: amount, max: 100}
  - {id: big-tips, tools: [tip], sum: amount, max: 10, action: confirm}
"""


def test_quota_sums_an_argument_over_executed_calls() -> None:
    p = policy(QUOTA)
    spent = (past("pay", "financial", amount=60), past("pay", "financial", amount=30))
    assert decide(p, call("pay", "financial", amount=10), calls=spent).action == "allow"
    d = decide(p, call("pay", "financial", amount=10.01), calls=spent)
    assert (d.action, d.rule) == ("deny", "quotas.money")
    assert "90" in d.reason


def test_quota_counts_negative_amounts_and_refuses_non_numbers() -> None:
    p = policy(QUOTA)
    spent = (past("pay", "financial", amount=-90),)  # no refunds through the back door
    assert decide(p, call("pay", "financial", amount=20), calls=spent).action == "deny"
    assert decide(p, call("pay", "financial", amount="5")).rule == "quotas.money"


def test_quota_can_escalate_to_confirm() -> None:
    d = decide(policy(QUOTA), call("tip", "financial", amount=11))
    assert (d.action, d.rule) == ("confirm", "quotas.big-tips")


TAINT = """
classes:
  read: {action: allow}
tools:
  send: {action: allow, side_effect: external_send}
  wipe: {action: confirm, side_effect: destructive}
  fetch_rows: {action: allow, untrusted_output: true}
rules:
  - {id: taint-send, classes: [external_send], after_untrusted: true, action: confirm}
  - {id: web-then-wipe, tools: [wipe], after_untrusted: [web], action: deny}
"""


def test_taint_escalates_sinks_to_confirm_once_untrusted_output_entered() -> None:
    p = policy(TAINT)
    assert decide(p, call("send", "external_send")).action == "allow"
    calls = (past("web", untrusted=True),)
    d = decide(p, call("send", "external_send"), calls=calls)
    assert (d.action, d.rule) == ("confirm", "rules.taint-send")
    assert "web" in d.reason
    assert decide(p, call("lookup"), calls=calls).action == "allow"  # reads stay allowed


def test_taint_per_source() -> None:
    p = policy(TAINT)
    d = decide(p, call("wipe", "destructive"), calls=(past("web", untrusted=True),))
    assert (d.action, d.rule) == ("deny", "rules.web-then-wipe")
    other = (past("mail", untrusted=True),)
    assert decide(p, call("wipe", "destructive"), calls=other).action == "confirm"


def test_policy_can_mark_a_tools_output_untrusted() -> None:
    p = policy(TAINT)
    calls = (past("fetch_rows"),)  # the tool itself did not say so
    assert decide(p, call("send", "external_send"), calls=calls).action == "confirm"
    assert p.tool_overrides("fetch_rows").untrusted_output is True
    assert p.tool_overrides("nothing").untrusted_output is False


def test_untrusted_output_of_a_call_that_did_not_run_does_not_taint() -> None:
    calls = (past("web", untrusted=True, executed=False),)
    assert decide(policy(TAINT), call("send", "external_send"), calls=calls).action == "allow"


RULES = """
roles: {treasurer: {}, staff: {}}
tools:
  pay: {action: allow}
rules:
  - id: big
    tools: [pay]
    when: {amount: {minimum: 1000}}
    unless_roles: [treasurer]
    action: confirm
  - id: unknown-payee
    tools: [pay]
    unless: {to: {enum: [landlord, utility]}}
    action: confirm
  - id: blocked
    tools: [pay]
    when: {to: {const: casino}}
    reason: no gambling
"""


def test_rules_when_unless_and_role_exemptions() -> None:
    p = policy(RULES)
    assert decide(p, call("pay", amount=10, to="landlord")).action == "allow"
    assert decide(p, call("pay", amount=5000, to="landlord")).rule == "rules.big"
    assert decide(p, call("pay", "read", amount=5000, to="landlord"), "treasurer").action == "allow"
    assert decide(p, call("pay", amount=10, to="friend")).rule == "rules.unknown-payee"
    # an exception never holds on an argument the call lacks: the rule applies (fail closed)
    assert decide(p, call("pay", amount=10)).rule == "rules.unknown-payee"


def test_deny_wins_over_confirm_whatever_the_order() -> None:
    d = decide(policy(RULES), call("pay", amount=5000, to="casino"))
    assert (d.action, d.rule, d.reason) == ("deny", "rules.blocked", "no gambling")


def test_first_confirm_in_documented_order_is_named() -> None:
    d = decide(policy(RULES), call("pay", amount=5000, to="friend"))
    assert d.rule == "rules.big"


def test_decide_is_pure() -> None:
    p: Policy = policy(RULES)
    first = decide(p, call("pay", amount=5000, to="friend"))
    assert all(decide(p, call("pay", amount=5000, to="friend")) == first for _ in range(3))
