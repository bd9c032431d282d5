"""Domains with address ranges, paths that break inside an argument, and the sources a value
may come from (lists, tools, quotas over lists): exact decisions."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.errors import PolicyLoadError
from agentkit.policy import Policy
from agentkit.testing.decisions import decide, past_call
from agentkit.testing.decisions import proposed_call as call

RANGES = """
version: 1
tools:
  inner:
    action: allow
    args:
      url: {domains: {allow_ranges: [10.0.0.0/8, loopback]}}
  outer:
    action: allow
    args:
      url: {domains: {deny_ranges: [192.168.0.0/16]}}
  named:
    action: allow
    args:
      url: {domains: {deny: [localhost]}}
  plain:
    action: allow
    args:
      url: {domains: {deny: [evil.example]}}
"""


def allowed(tool: str) -> tuple[str, str, str]:
    return ("allow", f"tools.{tool}", "")


def denied(tool: str, problem: str) -> tuple[str, str, str]:
    return ("deny", f"tools.{tool}.args.url", f"argument 'url' of {tool}: {problem}")


CASES = [
    ("inner", "http://10.0.0.0/", None),
    ("inner", "http://10.255.255.255/x", None),
    ("inner", "http://127.0.0.1/", None),
    ("inner", "http://localhost/", None),
    ("inner", "http://11.0.0.0/", "host 11.0.0.0 is not an allowed domain"),
    ("inner", "https://example.com/", "host example.com is not an allowed domain"),
    ("outer", "http://192.168.255.255/", "host 192.168.255.255 is in a denied address range"),
    ("outer", "http://192.169.0.0/", None),
    ("outer", "https://example.com/", None),
    ("named", "http://0x7f000001/", "host 127.0.0.1 is in a denied address range"),
    ("named", "http://[::1]/", "host ::1 is in a denied address range"),
    ("named", "http://localhost/", "host localhost is on the deny list"),
    ("plain", "http://127.0.0.1/", None),
    ("plain", "http://localhost/", None),
    ("plain", "http://evil.example/", "host evil.example is on the deny list"),
]


@pytest.mark.parametrize(("tool", "url", "problem"), CASES)
def test_ranges_allow_and_deny_addresses_at_their_edges(
    tool: str, url: str, problem: str | None
) -> None:
    expected = allowed(tool) if problem is None else denied(tool, problem)
    d = decide(Policy.from_yaml(RANGES), call(tool, url=url))
    assert (d.action, d.rule) == expected[:2]
    if problem is not None:
        assert d.reason == expected[2]


def test_a_bad_range_is_a_load_error_at_its_line() -> None:
    text = "version: 1\ntools:\n  t:\n    action: allow\n    args:\n      url:\n"
    text += "        domains: {allow_ranges: [intranet]}\n"
    with pytest.raises(PolicyLoadError) as info:
        Policy.from_yaml(text)
    assert (info.value.line, info.value.detail) == (
        6,
        "domains: 'intranet' is neither a network (10.0.0.0/8) nor one of "
        "loopback, private, link_local, multicast, reserved, unspecified",
    )


NESTED = """
version: 1
tools:
  send:
    action: allow
    args:
      to.address: {pattern: "^[a-z]+$"}
      items.name: {pattern: "^[a-z]+$"}
"""

BROKEN = [
    ({"to": {"address": "bob"}}, None),
    ({"items": []}, None),
    ({"items": [{"name": "a"}, {"name": "b"}]}, None),
    ({}, None),
    ({"to": {}}, "to.address"),
    ({"to": None}, "to.address"),
    ({"to": "bob"}, "to.address"),
    ({"items": {}}, "items.name"),
]


@pytest.mark.parametrize(("arguments", "missing"), BROKEN)
def test_a_path_that_breaks_inside_an_argument_denies_and_an_empty_list_does_not(
    arguments: dict[str, Any], missing: str | None
) -> None:
    d = decide(Policy.from_yaml(NESTED), call("send", **arguments))
    if missing is None:
        assert (d.action, d.rule) == ("allow", "tools.send")
    else:
        assert (d.action, d.rule, d.reason) == (
            "deny",
            f"tools.send.args.{missing}",
            f"argument {missing!r} of send: is missing from the arguments",
        )


SOURCES = """
version: 1
lists:
  hosts: {normalise: domain, values: [example.com]}
  odd: {normalise: exact, values: ['*.secret']}
tools:
  pay:
    action: allow
    args:
      amount: {multipleOf: 0.01}
      code: {maximum: 10, minLength: 2}
  send:
    action: allow
    args:
      to: {provenance: {lists: [hosts]}}
  tag:
    action: allow
    args:
      label: {in_list: odd}
  fetch:
    action: allow
    untrusted_output: true
  mail:
    action: allow
    args:
      to: {provenance: {tools: [fetch]}}
  buy: {action: allow}
quotas:
  - {id: q, sum: items.amount, max: 100}
"""


def sources_decide(tool: str, **arguments: Any) -> tuple[str, str, str]:
    found = decide(Policy.from_yaml(SOURCES), call(tool, **arguments))
    return (found.action, found.rule, found.reason if found.action == "deny" else "")


def sources_denied(tool: str, arg: str, problem: str) -> tuple[str, str, str]:
    return ("deny", f"tools.{tool}.args.{arg}", f"argument {arg!r} of {tool}: {problem}")


def test_a_number_too_long_to_divide_exactly_is_not_shown_a_multiple() -> None:
    assert sources_decide("pay", amount=1e30) == sources_denied(
        "pay", "amount", "1e+30 is not a multiple of 0.01"
    )
    assert sources_decide("pay", amount=0.07) == allowed("pay")


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("ab", None),  # a string: minLength applies, maximum does not
        (7, None),  # a number: maximum applies, minLength does not
        ("a", "'a' is too short"),
        (11, "11 is greater than the maximum of 10.0"),
        (True, "True is not of type 'number', 'string'"),
    ],
)
def test_keywords_of_two_types_let_through_a_value_of_either(
    code: Any, problem: str | None
) -> None:
    expected = allowed("pay") if problem is None else sources_denied("pay", "code", problem)
    assert sources_decide("pay", code=code) == expected


def test_a_domain_list_vouches_for_no_value_that_hides_its_host() -> None:
    assert sources_decide("send", to="example.com") == allowed("send")
    assert sources_decide("send", to="http://user@example.com/") == sources_denied(
        "send",
        "to",
        "value 'http://user@example.com/' does not come from the user's messages or a trusted list",
    )


def test_only_a_domain_list_drops_a_leading_wildcard() -> None:
    assert sources_decide("tag", label="*.secret") == allowed("tag")
    assert sources_decide("tag", label="secret") == sources_denied(
        "tag", "label", "'secret' is not in the trusted list odd"
    )


def test_a_source_tool_the_policy_marks_untrusted_vouches_for_nothing() -> None:
    policy = Policy.from_yaml(SOURCES)
    fetched = past_call("fetch", output="write to ana@x.example")  # declared trusted
    found = decide(policy, call("mail", to="ana@x.example"), calls=(fetched,))
    assert (found.action, found.rule, found.reason) == sources_denied(
        "mail",
        "to",
        "value 'ana@x.example' appears only in untrusted output of fetch, not in the user's "
        "messages or a trusted list",
    )


def test_a_quota_refuses_a_list_where_the_number_should_be() -> None:
    assert sources_decide("buy", items=[{"amount": [1, 2]}]) == (
        "deny",
        "quotas.q",
        "quota q: items.amount must be a number",
    )
    assert sources_decide("buy", items=[{"amount": 1}, {"amount": 2}]) == allowed("buy")
