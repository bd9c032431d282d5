"""Rate limits, quotas, rule targets and precedence at their edges: exact decisions and reasons."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.decision import Decision
from agentkit.policy import Policy
from agentkit.testing.decisions import decide
from agentkit.testing.decisions import past_call as past
from agentkit.testing.decisions import proposed_call as call


def policy(body: str) -> Policy:
    return Policy.from_yaml("version: 1\n" + body)


def verdict(d: Decision) -> tuple[str, str, str]:
    return (d.action, d.rule, d.reason)


NOW = 1_000.0
PER_MINUTE = policy("tools:\n  search: {action: allow, rate_limit: {per_minute: 2}}\n")


@pytest.mark.parametrize(
    ("times", "action"),
    [
        ((NOW - 10,), "allow"),
        ((NOW - 10, NOW - 20), "deny"),
        ((NOW - 60, NOW - 10), "allow"),
        ((NOW - 59.999, NOW - 10), "deny"),
        ((NOW, NOW - 10), "deny"),
        ((NOW + 1, NOW - 10), "allow"),
    ],
)
def test_per_minute_counts_calls_in_the_last_sixty_seconds_up_to_now(
    times: tuple[float, ...], action: str
) -> None:
    d = decide(PER_MINUTE, call("search"), now=NOW, principal_recent_calls={"search": times})
    assert d.action == action
    if action == "deny":
        assert (d.rule, d.reason) == (
            "tools.search.rate_limit.per_minute",
            "rate limit: at most 2 calls per minute; try again later",
        )


def test_per_minute_counts_only_this_tools_calls() -> None:
    recent = {"other": (NOW - 1, NOW - 2), "search": (NOW - 1,)}
    d = decide(PER_MINUTE, call("search"), now=NOW, principal_recent_calls=recent)
    assert d.action == "allow"


def test_per_run_reason_names_the_limit() -> None:
    p = policy("tools:\n  search: {action: allow, rate_limit: {per_run: 1}}\n")
    d = decide(p, call("search"), calls=(past("search"),))
    assert verdict(d) == (
        "deny",
        "tools.search.rate_limit.per_run",
        "rate limit: at most 1 calls per run",
    )


CLASS_RATE = policy(
    "classes:\n  write: {action: allow, rate_limit: {per_minute: 2}}\n"
    "tools:\n  save: {action: allow, side_effect: write}\n  peek: {action: allow}\n"
)


@pytest.mark.parametrize(
    ("recent", "action"),
    [
        ({"class:write": (NOW - 1, NOW - 2)}, "deny"),
        ({"class:write": (NOW - 1,)}, "allow"),
        ({"class:write": (NOW - 61, NOW - 2)}, "allow"),
        ({"save": (NOW - 1, NOW - 2), "put": (NOW - 3,)}, "allow"),
        ({"class:read": (NOW - 1, NOW - 2), "class:write": (NOW - 3,)}, "allow"),
    ],
)
def test_a_class_minute_limit_counts_the_class_key_of_the_window(
    recent: dict[str, tuple[float, ...]], action: str
) -> None:
    """The runner notes every call under its class too, so the class's count is one key: tool
    names (counted there already) are not counted twice, tools unknown to this run count."""
    d = decide(CLASS_RATE, call("write_doc", "write"), now=NOW, principal_recent_calls=recent)
    assert d.action == action
    if action == "deny":
        assert d.rule == "classes.write.rate_limit.per_minute"


QUOTA = """
tools:
  pay: {action: allow}
  refund: {action: allow}
  note: {action: allow}
quotas:
  - {id: spend, sum: amount, max: 100, tools: [pay]}
  - {id: basket, sum: items.price, max: 10, tools: [refund]}
"""


@pytest.mark.parametrize(
    ("past_amounts", "amount", "action"),
    [
        ((60,), 40, "allow"),
        ((60,), 40.5, "deny"),
        ((60, "n/a"), 40, "allow"),
        ((), 100, "allow"),
    ],
)
def test_a_quota_allows_exactly_the_cap(
    past_amounts: tuple[Any, ...], amount: float, action: str
) -> None:
    calls = tuple(past("pay", amount=a) for a in past_amounts)
    assert decide(policy(QUOTA), call("pay", amount=amount), calls=calls).action == action


def test_a_quota_counts_only_executed_calls_of_its_tools() -> None:
    calls = (
        past("pay", amount=60),
        past("pay", amount=60, executed=False),
        past("note", amount=60),
        past("pay"),
    )
    assert decide(policy(QUOTA), call("pay", amount=40), calls=calls).action == "allow"
    assert decide(policy(QUOTA), call("pay"), calls=calls).action == "allow"


def test_a_quota_denial_says_what_the_total_would_be() -> None:
    d = decide(policy(QUOTA), call("pay", amount=50), calls=(past("pay", amount=60.5),))
    assert verdict(d) == (
        "deny",
        "quotas.spend",
        "quota spend: amount would total 110.5 in this run, over the cap of 100 (60.5 used)",
    )
    bad = decide(policy(QUOTA), call("pay", amount="lots"))
    assert verdict(bad) == ("deny", "quotas.spend", "quota spend: amount must be a number")


def test_a_quota_sums_a_path_through_lists_and_lists_of_numbers() -> None:
    p = policy(QUOTA)
    items = [{"price": 4}, {"price": 6}]
    assert decide(p, call("refund", items=items)).action == "allow"
    d = decide(p, call("refund", items=[*items, {"price": 1}]))
    assert (d.action, d.rule) == ("deny", "quotas.basket")
    listed = policy("tools: {t: {action: allow}}\nquotas:\n  - {id: q, sum: n, max: 3}\n")
    assert decide(listed, call("t", n=[1, 2])).action == "allow"
    assert decide(listed, call("t", n=[1, 2, 1])).rule == "quotas.q"


def test_a_quota_without_tools_or_classes_covers_every_call() -> None:
    p = policy(
        "classes: {read: {action: allow}, financial: {action: allow}}\n"
        "quotas:\n  - {id: q, sum: n, max: 3, reason: too much}\n"
        "  - {id: c, sum: m, max: 1, classes: [financial], action: confirm}\n"
    )
    calls = (past("a", n=2), past("b", "financial", m=1))
    assert verdict(decide(p, call("z", n=2), calls=calls)) == ("deny", "quotas.q", "too much")
    d = decide(p, call("pay", "financial", m=1), calls=calls)
    assert (d.action, d.rule) == ("confirm", "quotas.c")
    assert decide(p, call("x", m=5), calls=calls).rule == "classes.read"


@given(
    spent=st.lists(st.integers(min_value=0, max_value=50), max_size=5),
    amount=st.integers(min_value=0, max_value=100),
)
@settings(max_examples=100)
def test_a_quota_denies_exactly_when_the_run_total_would_pass_the_cap(
    spent: list[int], amount: int
) -> None:
    calls = tuple(past("pay", amount=a) for a in spent)
    d = decide(policy(QUOTA), call("pay", amount=amount), calls=calls)
    assert (d.action == "deny") is (sum(spent) + amount > 100)


# --- rules: who and what they target, and what they say -------------------------------------

RULES = """
roles: {treasurer: {}, clerk: {}, ops: {}}
default: deny
tools:
  send: {action: allow}
  pay: {action: allow, roles: [clerk, treasurer]}
classes:
  read: {action: allow}
rules:
  - {id: clerk-only, action: confirm, tools: [pay], roles: [clerk], unless_roles: [treasurer]}
  - {id: everything, action: confirm, when: {flag: {const: true}}}
  - {id: tainted, action: confirm, tools: [send], after_untrusted: true}
  - {id: by-class, action: deny, classes: [financial]}
"""


def test_a_rule_with_roles_applies_only_to_those_roles_and_not_to_exempt_ones() -> None:
    p = policy(RULES)
    d = decide(p, call("pay"), "clerk")
    assert verdict(d) == (
        "confirm",
        "rules.clerk-only",
        "pay needs confirmation by rule clerk-only",
    )
    assert decide(p, call("pay"), "treasurer").rule == "tools.pay"
    assert decide(p, call("pay"), "clerk", "treasurer").rule == "tools.pay"


def test_a_rule_without_tools_or_classes_applies_to_every_call() -> None:
    p = policy(RULES)
    assert decide(p, call("lookup", flag=True)).rule == "rules.everything"
    assert decide(p, call("lookup", flag=False)).rule == "classes.read"


def test_default_rule_reasons_name_the_rule_or_the_untrusted_sources() -> None:
    p = policy(RULES)
    d = decide(p, call("wire", "financial"))
    assert verdict(d) == ("deny", "default-deny", "the policy does not grant the tool wire")
    calls = (past("web", untrusted=True), past("mail", untrusted=True))
    d = decide(p, call("send"), calls=calls)
    assert verdict(d) == (
        "confirm",
        "rules.tainted",
        "send needs confirmation: untrusted content from mail, web entered this run",
    )
    q = policy("tools: {pay: {action: allow}}\nrules:\n  - {id: nope, tools: [pay]}\n")
    assert verdict(decide(q, call("pay"))) == ("deny", "rules.nope", "pay is denied by rule nope")


def test_role_denial_lists_the_roles_sorted() -> None:
    d = decide(policy(RULES), call("pay"), "ops")
    assert verdict(d) == ("deny", "tools.pay.roles", "pay is only for the roles clerk, treasurer")


PRECEDENCE = """
tools:
  t: {action: allow, rate_limit: {per_run: 1}, args: {n: {maximum: 5}}}
quotas:
  - {id: q, sum: n, max: 4, action: confirm}
rules:
  - {id: c1, action: confirm, tools: [t]}
  - {id: d1, tools: [t], when: {n: {const: 5}}}
  - {id: d2, tools: [t]}
"""


def test_the_first_deny_in_order_wins_over_every_confirm() -> None:
    p = policy(PRECEDENCE)
    assert decide(p, call("t", n=1), calls=(past("t", executed=False),)).rule == "rules.d2"
    assert decide(p, call("t", n=5)).rule == "rules.d1"
    assert decide(p, call("t", n=6)).rule == "tools.t.args.n"
    assert decide(p, call("t", n=1), calls=(past("t"),)).rule == "tools.t.rate_limit.per_run"


def test_the_first_confirm_wins_when_nothing_denies() -> None:
    p = policy(
        PRECEDENCE.replace("  - {id: d1, tools: [t], when: {n: {const: 5}}}\n", "").replace(
            "  - {id: d2, tools: [t]}\n", ""
        )
    )
    assert decide(p, call("t", n=5)).rule == "quotas.q"
    assert decide(p, call("t", n=1)).rule == "rules.c1"


def test_what_the_policy_adds_to_a_tool_declaration() -> None:
    p = policy(
        "tools:\n  db: {action: allow, side_effect: write, untrusted_output: true,"
        " untrusted_columns: [body, title]}\n"
    )
    overrides = p.tool_overrides("db")
    assert (overrides.side_effect, overrides.untrusted_output, overrides.untrusted_columns) == (
        "write",
        True,
        ("body", "title"),
    )
    assert p.tool_overrides("other").side_effect is None
