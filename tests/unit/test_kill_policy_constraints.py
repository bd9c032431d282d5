"""Domains with address ranges, and paths that break inside an argument: exact decisions."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.errors import PolicyLoadError
from agentkit.policy import Policy
from agentkit.testing.decisions import decide
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
