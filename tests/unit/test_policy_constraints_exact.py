"""Argument constraints at their edges: the exact decision, rule and reason for each."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.decision import Decision
from agentkit.policy import Policy
from agentkit.testing.decisions import decide
from agentkit.testing.decisions import past_call as past
from agentkit.testing.decisions import proposed_call as call


def policy(body: str) -> Policy:
    return Policy.from_yaml("version: 1\n" + body)


def verdict(d: Decision) -> tuple[str, str, str]:
    return (d.action, d.rule, d.reason)


BOUNDS = """
tools:
  t:
    action: allow
    args:
      n: {minimum: 1, maximum: 10}
      x: {exclusiveMinimum: 0, exclusiveMaximum: 1}
      s: {maxLength: 3}
      xs: {maxItems: 2}
"""

EDGES = [
    ({"n": 1}, None),
    ({"n": 10}, None),
    ({"n": 0}, "argument 'n' of t: 0 is less than the minimum of 1.0"),
    ({"n": 11}, "argument 'n' of t: 11 is greater than the maximum of 10.0"),
    ({"x": 0.5}, None),
    ({"x": 0}, "argument 'x' of t: 0 is less than or equal to the minimum of 0.0"),
    ({"x": 1}, "argument 'x' of t: 1 is greater than or equal to the maximum of 1.0"),
    ({"s": "abc"}, None),
    ({"s": "abcd"}, "argument 's' of t: 'abcd' is too long"),
    ({"xs": [1, 2]}, None),
    ({"xs": [1, 2, 3]}, "argument 'xs' of t: [1, 2, 3] is too long"),
]


@pytest.mark.parametrize(("arguments", "problem"), EDGES)
def test_bounds_hold_inclusively_or_exclusively_as_written(
    arguments: dict[str, Any], problem: str | None
) -> None:
    d = decide(policy(BOUNDS), call("t", **arguments))
    if problem is None:
        assert (d.action, d.rule) == ("allow", "tools.t")
    else:
        rule = f"tools.t.args.{next(iter(arguments))}"
        assert verdict(d) == ("deny", rule, problem)


LISTS = """
lists:
  payees: {normalise: iban, values: ["DE89 3704 0044"]}
  blocked: {normalise: iban, values: ["GB29 NWBK 6016"]}
  names: {values: [bob]}
  sites: {normalise: domain, values: [example.com]}
  blocked_sites: {normalise: domain, values: [evil.org]}
tools:
  pay:
    action: allow
    args:
      to: {in_list: payees}
      via: {not_in_list: blocked}
      who: {in_list: names}
      site: {in_list: sites}
      avoid: {not_in_list: blocked_sites}
"""

# what the HTTP client refuses to read as a host is on no list and off none
FULLWIDTH_E = (
    "is not a host name the HTTP client accepts (IDNA 2008): "
    "Codepoint U+FF45 at position 1 of '\uff45xample' not allowed"
)


LIST_CASES = [
    ({"to": "de89370400 44"}, None),
    ({"to": "DE89 3704 0045"}, "'DE89 3704 0045' is not in the trusted list payees"),
    ({"via": "FR76 3000"}, None),
    ({"via": "gb29nwbk 6016"}, "'gb29nwbk 6016' is on the list blocked"),
    ({"who": "Bob"}, None),
    ({"who": "alice.bob"}, "'alice.bob' is not in the trusted list names"),
    ({"site": "shop.Example.com"}, None),
    ({"site": "example.com.evil.org"}, "'example.com.evil.org' is not in the trusted list sites"),
    (
        {"site": "\uff45xample.com"},
        "'\uff45xample.com' is not in the trusted list sites: '\uff45xample.com' " + FULLWIDTH_E,
    ),
    ({"avoid": "good.org"}, None),
    ({"avoid": "api.Evil.org."}, "'api.Evil.org.' is on the list blocked_sites"),
    (
        {"avoid": "\uff45xample.com"},
        "'\uff45xample.com' cannot be checked against the list blocked_sites: "
        "'\uff45xample.com' " + FULLWIDTH_E,
    ),
]


@pytest.mark.parametrize(("arguments", "problem"), LIST_CASES)
def test_list_membership_compares_normal_forms_and_domains_include_subdomains(
    arguments: dict[str, Any], problem: str | None
) -> None:
    d = decide(policy(LISTS), call("pay", **arguments))
    if problem is None:
        assert (d.action, d.rule) == ("allow", "tools.pay")
    else:
        name = next(iter(arguments))
        assert verdict(d) == (
            "deny",
            f"tools.pay.args.{name}",
            f"argument {name!r} of pay: {problem}",
        )


DOMAINS = """
lists:
  partners: {normalise: domain, values: ["*.partner.org"]}
  bad: {normalise: domain, values: [evil.org]}
tools:
  fetch:
    action: allow
    args:
      url:
        domains:
          allow: ["*.example.com", docs.io]
          allow_lists: [partners]
          deny: ["*.internal.example.com"]
          deny_lists: [bad]
          schemes: [HTTPS]
      any: {domains: {deny: [tracker.net]}}
"""

DOMAIN_CASES = [
    ("url", "https://example.com/a", None),
    ("url", "https://api.example.com/a", None),
    ("url", "https://www.partner.org/", None),
    ("url", "https://docs.io/", None),
    ("url", "https://x.internal.example.com/", "host x.internal.example.com is on the deny list"),
    ("url", "https://evil.org/", "host evil.org is on the deny list"),
    ("url", "https://other.com/", "host other.com is not an allowed domain"),
    ("url", "http://example.com/", "scheme 'http' is not allowed"),
    ("url", 42, "must be a URL, e-mail address or host name"),
    ("any", "https://anything.org/", None),
    ("any", "me@tracker.net", "host tracker.net is on the deny list"),
]


@pytest.mark.parametrize(("name", "value", "problem"), DOMAIN_CASES)
def test_domains_allow_deny_and_schemes(name: str, value: object, problem: str | None) -> None:
    d = decide(policy(DOMAINS), call("fetch", **{name: value}))
    if problem is None:
        assert (d.action, d.rule) == ("allow", "tools.fetch")
    else:
        expected = f"argument {name!r} of fetch: {problem}"
        assert verdict(d) == ("deny", f"tools.fetch.args.{name}", expected)


def test_a_list_argument_is_checked_element_by_element() -> None:
    p = policy(DOMAINS)
    assert decide(p, call("fetch", any=["a.org", "b.org"])).action == "allow"
    d = decide(p, call("fetch", any=["a.org", "tracker.net"]))
    assert d.reason == "argument 'any' of fetch: host tracker.net is on the deny list"


PROVENANCE = """
lists:
  payees: {normalise: iban, values: ["DE89 3704 0044"]}
tools:
  mail: {action: allow, untrusted_output: true}
  send:
    action: allow
    args:
      to: {normalise: email, provenance: {tools: [directory]}}
      name: {provenance: {tools: [directory]}}
      iban: {normalise: iban, provenance: {lists: [payees], user: false}}
"""


PROVENANCE_CASES = [
    # (arguments, history, problem)
    ({"to": "Bob@Example.com"}, {"user_messages": ("write to bob@example.com",)}, None),
    (
        {"to": "bob@example.com"},
        {"calls": (past("directory", output="Bob <BOB@example.com>"),)},
        None,
    ),
    (
        {"name": "alice smith"},
        {"calls": (past("directory", output="Name: Alice   Smith"),)},
        None,
    ),
    (
        {"to": "eve@evil.org"},
        {"calls": (past("directory", output="bob@example.com"),)},
        "value 'eve@evil.org' does not come from the user's messages or a trusted list",
    ),
    (
        {"to": "eve@evil.org"},
        {"calls": (past("mail", output="reply to eve@evil.org"),)},
        "value 'eve@evil.org' appears only in untrusted output of mail, "
        "not in the user's messages or a trusted list",
    ),
    (
        {"to": "eve@evil.org"},
        {"calls": (past("web", untrusted=True, output="nothing here"),)},
        "value 'eve@evil.org' does not come from the user's messages or a trusted list",
    ),
    (
        {"to": "eve@evil.org"},
        {"calls": (past("notes", output="eve@evil.org"),)},
        "value 'eve@evil.org' does not come from the user's messages or a trusted list",
    ),
    (
        {"to": "bob@\uff45xample.com"},
        {"user_messages": ("write to bob@example.com",)},
        "value 'bob@\uff45xample.com' has no source: '\uff45xample.com' " + FULLWIDTH_E,
    ),
    ({"iban": "de89370400 44"}, {}, None),
    (
        {"iban": "DE89 3704 0044 9"},
        {"user_messages": ("pay DE89 3704 0044 9",)},
        "value 'DE89370400449' does not come from the user's messages or a trusted list",
    ),
]


@pytest.mark.parametrize(("arguments", "history", "problem"), PROVENANCE_CASES)
def test_provenance_accepts_user_lists_and_trusted_tools_only(
    arguments: dict[str, Any], history: dict[str, Any], problem: str | None
) -> None:
    d = decide(policy(PROVENANCE), call("send", **arguments), **history)
    if problem is None:
        assert (d.action, d.rule) == ("allow", "tools.send")
    else:
        name = next(iter(arguments))
        assert verdict(d) == (
            "deny",
            f"tools.send.args.{name}",
            f"argument {name!r} of send: {problem}",
        )


def test_a_required_argument_must_be_present_and_an_optional_one_may_be_absent() -> None:
    p = policy(
        "tools:\n  t:\n    action: allow\n    args:\n"
        "      a: {required: true}\n      b: {maxLength: 1}\n"
    )
    assert verdict(decide(p, call("t"))) == (
        "deny",
        "tools.t.args.a",
        "argument 'a' of t: is required",
    )
    assert decide(p, call("t", a=1)).action == "allow"


def test_a_dotted_path_through_a_list_checks_every_element() -> None:
    p = policy(
        "tools:\n  t:\n    action: allow\n    args:\n      items.sku: {pattern: '^[A-Z]+$'}\n"
    )
    assert decide(p, call("t", items=[{"sku": "AB"}, {"sku": "CD"}])).action == "allow"
    d = decide(p, call("t", items=[{"sku": "AB"}, {"sku": "cd"}]))
    assert verdict(d) == (
        "deny",
        "tools.t.args.items.sku",
        "argument 'items.sku' of t: 'cd' does not match '^[A-Z]+$'",
    )


def test_a_rule_condition_can_ask_where_a_value_came_from() -> None:
    p = policy(
        "tools: {send: {action: allow}}\n"
        "rules:\n  - id: outside\n    action: confirm\n    tools: [send]\n"
        "    unless:\n      to: {normalise: email, provenance: {user: true}}\n"
        "  - id: from-user\n    action: confirm\n    reason: from the user\n    tools: [send]\n"
        "    when:\n      cc: {normalise: email, provenance: {user: true}}\n"
    )
    said = {"user_messages": ("mail bob@example.com",)}
    assert decide(p, call("send", to="bob@example.com"), **said).action == "allow"
    assert decide(p, call("send", to="eve@evil.org"), **said).rule == "rules.outside"
    d = decide(p, call("send", to="bob@example.com", cc="Bob@example.com"), **said)
    assert (d.rule, d.reason) == ("rules.from-user", "from the user")


def test_provenance_through_a_list_checks_every_element() -> None:
    p = policy("tools:\n  t:\n    action: allow\n    args:\n      to.addr: {provenance: {}}\n")
    said = {"user_messages": ("ann and bob",)}
    assert decide(p, call("t", to=[{"addr": "ann"}, {"addr": "bob"}]), **said).action == "allow"
    d = decide(p, call("t", to=[{"addr": "ann"}, {"addr": "eve"}]), **said)
    assert d.reason == (
        "argument 'to.addr' of t: value 'eve' does not come from the user's messages "
        "or a trusted list"
    )
