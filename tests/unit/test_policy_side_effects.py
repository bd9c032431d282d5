"""Side-effect classes for device control and security settings, always confirmed like
destructive calls, and a class per call (side_effect_by) that the floor follows."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.decision import AllowAll, ToolInfo
from agentkit.errors import PolicyInvalid, PolicyLoadError
from agentkit.policy import Policy
from agentkit.testing.decisions import decide, past_call
from agentkit.testing.decisions import proposed_call as call


@pytest.mark.parametrize("side_effect", ["security_settings", "device_control"])
def test_the_new_classes_are_confirmed_whatever_the_policy_allows(side_effect: Any) -> None:
    policy = Policy.from_yaml("version: 1\ndefault: confirm\nclasses: {}\n")
    assert decide(policy, call("t", side_effect)).action == "confirm"
    allowing = Policy.from_yaml("version: 1\ntools: {t: {action: allow}}\n")
    decision = decide(allowing, call("t", side_effect))
    assert (decision.action, decision.rule) == ("confirm", side_effect)
    assert decide(AllowAll(), call("t", side_effect)).rule == side_effect


@pytest.mark.parametrize("side_effect", ["security_settings", "device_control"])
def test_a_policy_cannot_allow_them(side_effect: str) -> None:
    with pytest.raises(PolicyInvalid, match=f"a {side_effect} tool cannot be allowed"):
        Policy.from_yaml(f"version: 1\ntools: {{t: {{side_effect: {side_effect}, action: allow}}}}")
    with pytest.raises(PolicyLoadError, match=f"{side_effect} tools cannot be allowed as a class"):
        Policy.from_yaml(f"version: 1\nclasses: {{{side_effect}: {{action: allow}}}}\n")


FILES = """
version: 1
classes:
  read: {action: allow}
tools:
  manage_files:
    side_effect: write
    action: allow
    side_effect_by:
      arg: action
      values: {list: read, read: read, share: external_send, delete: destructive}
rules:
  - {id: sharing, classes: [external_send], action: confirm}
quotas:
  - {id: deletions, classes: [destructive], sum: count, max: 3}
"""


@pytest.mark.parametrize(
    ("arguments", "action", "rule"),
    [
        ({"action": "list"}, "allow", "tools.manage_files"),
        ({"action": "share"}, "confirm", "rules.sharing"),
        ({"action": "delete", "count": 1}, "confirm", "destructive"),
        ({"action": "Delete", "count": 1}, "confirm", "destructive"),
        ({"action": "purge", "count": 1}, "confirm", "destructive"),
        ({"action": None, "count": 1}, "confirm", "destructive"),
        ({"count": 1}, "confirm", "destructive"),
        ({"action": ["list", "delete"], "count": 1}, "confirm", "destructive"),
        ({"action": 3, "count": 1}, "confirm", "destructive"),
    ],
)
def test_the_call_has_the_class_its_argument_picks(
    arguments: dict[str, Any], action: str, rule: str
) -> None:
    decision = decide(Policy.from_yaml(FILES), call("manage_files", "write", **arguments))
    assert (decision.action, decision.rule) == (action, rule)


def test_past_calls_count_under_the_class_they_had() -> None:
    policy = Policy.from_yaml(FILES)
    past = (
        past_call("manage_files", "write", action="delete", count=2),
        past_call("manage_files", "write", action="list", count=5),
    )
    decision = decide(policy, call("manage_files", "write", action="delete", count=2), calls=past)
    assert decision.rule == "quotas.deletions"
    small = decide(policy, call("manage_files", "write", action="delete", count=1), calls=past)
    assert small.rule == "destructive"


def test_a_per_call_class_never_removes_the_tool_class() -> None:
    """A destructive tool stays destructive even when its argument says read."""
    policy = Policy.from_yaml(
        FILES.replace(
            "side_effect: write\n    action: allow",
            ("side_effect: destructive\n    action: confirm"),
        )
    )
    decision = decide(policy, call("manage_files", "destructive", action="list"))
    assert decision.action == "confirm"


def test_a_class_rate_limit_counts_per_call_classes() -> None:
    policy = Policy.from_yaml(
        FILES.replace(
            "  read: {action: allow}",
            "  read: {action: allow}\n  destructive: {action: confirm, rate_limit: {per_run: 1}}",
        )
    )
    past = (past_call("manage_files", "write", action="delete", count=1),)
    assert decide(
        policy, call("manage_files", "write", action="delete", count=1), calls=past
    ).rule == ("classes.destructive.rate_limit.per_run")
    assert (
        decide(policy, call("manage_files", "write", action="list"), calls=past).action == "allow"
    )


def test_a_missing_side_effect_by_argument_is_a_load_error_against_the_tools() -> None:
    policy = Policy.from_yaml(FILES.replace("arg: action", "arg: verb"), "p.yaml")
    schema = {"type": "object", "properties": {"action": {"type": "string"}}}
    with pytest.raises(PolicyLoadError) as info:
        policy.check_tools([ToolInfo(name="manage_files", side_effect="write", parameters=schema)])
    assert str(info.value) == (
        "p.yaml:10: manage_files has no argument 'verb': side_effect_by would always pick its "
        "default class"
    )


def test_an_unknown_class_in_side_effect_by_suggests_one() -> None:
    with pytest.raises(PolicyInvalid) as info:
        Policy.from_yaml(FILES.replace("delete: destructive", "delete: destructve"), "p.yaml")
    assert "(did you mean 'destructive'?)" in str(info.value.problems[0])
