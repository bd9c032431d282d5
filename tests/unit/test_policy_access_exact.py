"""Access decisions and what explain shows: the exact action, rule and reason."""

from __future__ import annotations

from agentkit.decision import Decision, Principal
from agentkit.policy import Policy
from agentkit.testing.decisions import decide
from agentkit.testing.decisions import past_call as past
from agentkit.testing.decisions import proposed_call as call


def policy(body: str) -> Policy:
    return Policy.from_yaml("version: 1\n" + body)


def verdict(d: Decision) -> tuple[str, str, str]:
    return (d.action, d.rule, d.reason)


ACCESS = policy(
    """
roles: {ops: {}, clerk: {}, viewer: {}}
classes:
  read: {action: allow}
  write: {action: confirm, roles: [ops]}
tools:
  lookup: {action: allow}
  banned: {action: deny}
  rm: {action: allow}
  ledger: {action: allow, roles: [clerk]}
rules:
  - {id: everything-banned, tools: [banned, ledger]}
"""
)


def test_base_reasons_name_the_tool_or_its_class() -> None:
    assert verdict(decide(ACCESS, call("lookup"))) == (
        "allow",
        "tools.lookup",
        "the policy allows lookup",
    )
    assert verdict(decide(ACCESS, call("grep"))) == (
        "allow",
        "classes.read",
        "the policy allows read tools such as grep",
    )
    assert verdict(decide(ACCESS, call("save", "write"), "ops")) == (
        "confirm",
        "classes.write",
        "the policy requires a person to confirm write tools such as save",
    )


def test_a_base_deny_decides_before_any_later_check() -> None:
    assert verdict(decide(ACCESS, call("banned"))) == (
        "deny",
        "tools.banned",
        "the policy forbids banned",
    )
    assert decide(ACCESS, call("ledger"), "viewer").rule == "tools.ledger.roles"


def test_class_roles_admit_only_their_holders() -> None:
    d = decide(ACCESS, call("save", "write"), "viewer")
    assert verdict(d) == ("deny", "classes.write.roles", "save is only for the roles ops")
    assert decide(ACCESS, call("save", "write"), "ops", "viewer").rule == "classes.write"


def test_every_role_a_principal_holds_counts() -> None:
    assert decide(ACCESS, call("ledger"), "clerk", "viewer").rule == "rules.everything-banned"
    assert decide(ACCESS, call("save", "write"), "viewer", "ops").action == "confirm"


def test_the_destructive_floor_names_the_tool() -> None:
    assert verdict(decide(ACCESS, call("rm", "destructive"))) == (
        "confirm",
        "destructive",
        "rm is destructive: a person must confirm it",
    )


DECLARED = policy(
    """
classes:
  read: {action: allow, rate_limit: {per_run: 3}}
  financial: {action: allow, rate_limit: {per_run: 1}}
tools:
  save: {action: allow, side_effect: financial}
quotas:
  - {id: money, sum: n, max: 5, classes: [financial]}
"""
)


def test_class_limits_count_a_tool_by_the_class_the_policy_declares() -> None:
    calls = (past("save", "read", n=5),)
    assert decide(DECLARED, call("pay", "financial"), calls=calls).rule == (
        "classes.financial.rate_limit.per_run"
    )
    d = decide(
        DECLARED, call("pay", "financial", n=1), calls=(past("save", "read", executed=False, n=5),)
    )
    assert (d.action, d.rule) == ("allow", "classes.financial")


def test_every_class_of_a_tool_has_its_limit_checked() -> None:
    p = policy(
        "classes: {read: {action: allow, rate_limit: {per_run: 2}}}\n"
        "tools: {save: {action: allow, side_effect: financial}}\n"
    )
    d = decide(p, call("save", "read"), calls=(past("lookup"), past("grep")))
    assert (d.action, d.rule) == ("deny", "classes.read.rate_limit.per_run")


def test_a_class_quota_sums_the_tools_the_policy_declares_of_that_class() -> None:
    money = policy(
        "classes: {financial: {action: allow}}\n"
        "tools:\n  save: {action: allow, side_effect: financial}\n"
        "quotas:\n  - {id: money, sum: n, max: 5, classes: [financial]}\n"
    )
    d = decide(money, call("pay", "financial", n=1), calls=(past("save", "read", n=5),))
    assert (d.action, d.rule) == ("deny", "quotas.money")


EXPLAIN = policy(
    """
classes: {read: {action: allow}}
tools:
  send: {action: allow, args: {to: {provenance: {user: true}}}}
  db: {action: allow, side_effect: write, untrusted_output: true}
rules:
  - {id: tainted, action: confirm, tools: [send], after_untrusted: true}
"""
)


def test_explain_assumes_a_clean_run_unless_told_otherwise() -> None:
    clean = EXPLAIN.explain("send", {"to": "bob"}, principal=Principal(), user_messages=("bob",))
    assert (clean.action, clean.rule) == ("allow", "tools.send")
    tainted = EXPLAIN.explain(
        "send", {"to": "bob"}, principal=Principal(), user_messages=("bob",), after_untrusted=True
    )
    assert verdict(tainted) == (
        "confirm",
        "rules.tainted",
        "send needs confirmation: untrusted content from <untrusted source> entered this run",
    )


def test_the_untrusted_content_explain_assumes_carries_no_values() -> None:
    d = EXPLAIN.explain("send", {"to": "xxxx"}, principal=Principal(), after_untrusted=True)
    assert d.reason == (
        "argument 'to' of send: value 'xxxx' does not come from the user's messages "
        "or a trusted list"
    )


def test_tool_info_is_the_tool_as_the_policy_declares_it() -> None:
    info = EXPLAIN.tool_info("db")
    assert (info.name, info.side_effect, info.untrusted_output) == ("db", "write", True)
    assert EXPLAIN.tool_info("send").side_effect == "read"
    assert EXPLAIN.tool_info("unknown").untrusted_output is False


def test_a_rule_for_some_roles_leaves_other_principals_alone() -> None:
    p = policy(
        "roles: {clerk: {}, ops: {}}\ntools: {send: {action: allow}}\n"
        "rules:\n  - {id: clerks, action: confirm, tools: [send], roles: [clerk]}\n"
    )
    assert decide(p, call("send"), "ops").rule == "tools.send"
    assert decide(p, call("send"), "clerk").rule == "rules.clerks"
