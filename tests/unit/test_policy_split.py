"""Comma-separated recipients are checked address by address (split)."""

from __future__ import annotations

import pytest

from agentkit.decision import ToolInfo
from agentkit.errors import PolicyLoadError
from agentkit.policy import Policy
from agentkit.testing.decisions import decide
from agentkit.testing.decisions import proposed_call as call

RECIPIENTS = """
version: 1
lists:
  contacts: {normalise: email, values: [ana@example.com, bob@example.com]}
  ours: {normalise: domain, values: [example.org]}
tools:
  send_email:
    side_effect: external_send
    action: allow
    args:
      to: {normalise: email, split: ",;", provenance: {lists: [contacts], user: true}}
rules:
  - id: outside
    tools: [send_email]
    unless: {to: {split: ",;", in_list: ours}}
    action: confirm
"""


@pytest.mark.parametrize(
    ("to", "rule"),
    [
        ("ana@example.com, bob@example.com", "rules.outside"),
        ("ana@example.com; eve@evil.test", "tools.send_email.args.to"),
        ("eve@evil.test,ana@example.com", "tools.send_email.args.to"),
        ("ana@example.com,", "rules.outside"),
        (",", "tools.send_email.args.to"),
        ("", "tools.send_email.args.to"),
    ],
)
def test_each_address_is_checked(to: str, rule: str) -> None:
    assert decide(Policy.from_yaml(RECIPIENTS), call("send_email", to=to)).rule == rule


def test_an_exception_holds_only_when_every_address_is_ours() -> None:
    policy = Policy.from_yaml(RECIPIENTS)
    said = {"user_messages": ("write to x@example.org and y@team.example.org",)}
    both = call("send_email", to="x@example.org, y@team.example.org")
    assert decide(policy, both, **said).action == "allow"
    mixed = call("send_email", to="x@example.org, ana@example.com")
    assert decide(policy, mixed, **said).rule == "rules.outside"


def test_without_split_the_whole_string_is_one_address() -> None:
    policy = Policy.from_yaml(RECIPIENTS.replace('split: ",;", provenance', "provenance"))
    assert decide(policy, call("send_email", to="ana@example.com, bob@example.com")).rule == (
        "tools.send_email.args.to"
    )


def test_split_on_a_number_is_a_load_error_against_the_tools() -> None:
    policy = Policy.from_yaml(
        "version: 1\ntools:\n  t:\n    args:\n      n: {split: ','}\n", "p.yaml"
    )
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    with pytest.raises(PolicyLoadError) as info:
        policy.check_tools([ToolInfo(name="t", parameters=schema)])
    assert str(info.value) == "p.yaml:5: split cuts text, but t.n holds integer values"
