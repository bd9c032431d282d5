"""Rule conditions combine argument constraints with any_of, all_of and not, three-valued:
a constraint on an argument the call lacks, or left null, is unknown, and a condition counts
only when it certainly holds. The property tests compare decide() with a reference
evaluator written here over random condition trees and argument values."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.errors import PolicyInvalid, PolicyLoadError
from agentkit.policy import Policy
from agentkit.testing.decisions import decide
from agentkit.testing.decisions import proposed_call as call

ARGS = ("a", "b", "c")
MISSING = object()

# a leaf's constraint, and how the reference reads it
LEAVES: list[dict[str, Any]] = [
    {"maximum": 3},
    {"minimum": 2},
    {"enum": [1, 4]},
    {"if_null": "pass", "maximum": 2},
]


def leaf_truth(constraint: dict[str, Any], value: Any) -> bool | None:
    if value is MISSING:
        return None
    if value is None:
        return True if constraint.get("if_null") == "pass" else None
    if "enum" in constraint:
        return value in constraint["enum"]
    if not isinstance(value, int) or isinstance(value, bool):
        return False  # a number keyword refuses what is not a number
    if "maximum" in constraint:
        return bool(value <= constraint["maximum"])
    return bool(value >= constraint["minimum"])


def k3_and(values: list[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def k3_or(values: list[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def reference(condition: dict[str, Any], arguments: dict[str, Any]) -> bool | None:
    parts: list[bool | None] = []
    for key, value in condition.items():
        if key == "any_of":
            parts.append(k3_or([reference(c, arguments) for c in value]))
        elif key == "all_of":
            parts.append(k3_and([reference(c, arguments) for c in value]))
        elif key == "not":
            inner = reference(value, arguments)
            parts.append(None if inner is None else not inner)
        else:
            parts.append(leaf_truth(value, arguments.get(key, MISSING)))
    return k3_and(parts)


leaf_maps = st.dictionaries(st.sampled_from(ARGS), st.sampled_from(LEAVES), min_size=1, max_size=2)


def combined(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda cs: {"any_of": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda cs: {"all_of": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, children),
        st.builds(lambda leaves, c: {**leaves, "not": c}, leaf_maps, children),
    )


conditions = st.recursive(leaf_maps, combined, max_leaves=8)
values = st.one_of(st.just(MISSING), st.none(), st.integers(0, 5), st.sampled_from(["2", "x"]))
argument_sets = st.fixed_dictionaries({name: values for name in ARGS}).map(
    lambda found: {k: v for k, v in found.items() if v is not MISSING}
)


def policy_with(part: str, condition: dict[str, Any]) -> Policy:
    spec = {
        "version": 1,
        "tools": {"t": {"action": "allow"}},
        "rules": [{"id": "r", "tools": ["t"], part: condition, "action": "deny"}],
    }
    return Policy.from_yaml(json.dumps(spec))  # JSON is YAML, and never writes an alias


@settings(max_examples=300, deadline=None)
@given(conditions, argument_sets)
def test_when_fires_exactly_when_the_reference_says_the_condition_holds(
    condition: dict[str, Any], arguments: dict[str, Any]
) -> None:
    decision = decide(policy_with("when", condition), call("t", **arguments))
    assert (decision.rule == "rules.r") == (reference(condition, arguments) is True)


@settings(max_examples=300, deadline=None)
@given(conditions, argument_sets)
def test_unless_exempts_exactly_when_the_reference_says_the_condition_holds(
    condition: dict[str, Any], arguments: dict[str, Any]
) -> None:
    decision = decide(policy_with("unless", condition), call("t", **arguments))
    assert (decision.rule == "rules.r") == (reference(condition, arguments) is not True)


@settings(max_examples=200, deadline=None)
@given(conditions, argument_sets)
def test_not_never_turns_a_missing_argument_into_an_exemption(
    condition: dict[str, Any], arguments: dict[str, Any]
) -> None:
    """Whatever the tree, a call that sends none of the arguments is never exempted (no
    leaf here passes a missing argument, and not unknown is unknown)."""
    decision = decide(policy_with("unless", {"not": condition}), call("t"))
    assert decision.rule == "rules.r"


CONTACTS = """
version: 1
lists:
  contacts: {normalise: email, values: [ana@example.com]}
  our_domains: {normalise: domain, values: [example.org]}
tools:
  send_email: {side_effect: external_send, action: allow}
rules:
  - id: unknown-recipient
    tools: [send_email]
    unless:
      any_of:
        - {to: {normalise: email, in_list: contacts}}
        - {to: {domains: {allow_lists: [our_domains]}}}
    action: confirm
"""


@pytest.mark.parametrize(
    ("to", "rule"),
    [
        ("ana@example.com", "tools.send_email"),
        ("bob@example.org", "tools.send_email"),
        ("bob@team.example.org", "tools.send_email"),
        ("eve@evil.test", "rules.unknown-recipient"),
        (None, "rules.unknown-recipient"),
    ],
)
def test_a_known_contact_or_an_address_at_our_domain(to: str | None, rule: str) -> None:
    assert decide(Policy.from_yaml(CONTACTS), call("send_email", to=to)).rule == rule


def test_a_missing_argument_never_exempts_through_any_of() -> None:
    assert decide(Policy.from_yaml(CONTACTS), call("send_email")).rule == "rules.unknown-recipient"


def test_all_of_and_not_combine() -> None:
    policy = Policy.from_yaml("""
version: 1
tools:
  transfer: {side_effect: financial, action: allow}
rules:
  - id: big-and-foreign
    tools: [transfer]
    when:
      all_of:
        - {amount: {minimum: 1000}}
        - not: {currency: {enum: [EUR]}}
    action: deny
""")
    assert decide(policy, call("transfer", amount=5000, currency="USD")).action == "deny"
    assert decide(policy, call("transfer", amount=5000, currency="EUR")).action == "allow"
    assert decide(policy, call("transfer", amount=10, currency="USD")).action == "allow"
    assert decide(policy, call("transfer", amount=5000)).action == "allow", "unknown: no fire"


def nested(depth: int) -> str:
    return "{not: " * depth + "{a: {maximum: 1}}" + "}" * depth


def test_nesting_is_capped_at_load_with_the_line() -> None:
    Policy.from_yaml(f"version: 1\nrules:\n  - id: r\n    when: {nested(8)}\n")
    with pytest.raises(PolicyLoadError) as info:
        Policy.from_yaml(f"version: 1\nrules:\n  - id: r\n    when: {nested(9)}\n", "p.yaml")
    assert str(info.value).startswith("p.yaml:4: conditions nest deeper than 8 levels")


def test_a_misspelt_any_of_is_named_with_its_line() -> None:
    text = "version: 1\nrules:\n  - id: r\n    when:\n      any_off:\n        - {a: {}}\n"
    with pytest.raises(PolicyInvalid) as info:
        Policy.from_yaml(text, "p.yaml")
    [problem] = info.value.problems
    assert problem.line == 5
    assert "(did you mean 'any_of'?)" in str(problem)


def test_typos_inside_nested_conditions_name_the_nearest_key() -> None:
    text = "version: 1\nrules:\n  - id: r\n    unless:\n      not:\n        to: {in_lst: x}\n"
    with pytest.raises(PolicyInvalid) as info:
        Policy.from_yaml(text, "p.yaml")
    assert [str(p) for p in info.value.problems] == [
        "p.yaml:6: unknown key 'in_lst' in rules.0.unless.not.to (did you mean 'in_list'?)"
    ]


@pytest.mark.parametrize("key", ["any_of", "all_of"])
def test_an_empty_list_of_conditions_is_refused(key: str) -> None:
    with pytest.raises(PolicyInvalid) as info:
        Policy.from_yaml(f"version: 1\nrules:\n  - id: r\n    when: {{{key}: []}}\n", "p.yaml")
    assert "at least 1 item" in str(info.value.problems[0])


def test_an_unknown_list_inside_any_of_is_a_load_error_at_its_line() -> None:
    text = (
        "version: 1\nlists: {contacts: {values: [a]}}\nrules:\n  - id: r\n    unless:\n"
        "      any_of:\n        - {to: {in_list: contacts}}\n        - {to: {in_list: contcts}}\n"
    )
    with pytest.raises(PolicyLoadError) as info:
        Policy.from_yaml(text, "p.yaml")
    assert str(info.value).startswith("p.yaml:8: in_list names the list 'contcts'")
    assert "(did you mean 'contacts'?)" in str(info.value)


def test_provenance_tools_inside_nested_conditions_are_checked_against_the_agent() -> None:
    from agentkit.decision import ToolInfo

    policy = Policy.from_yaml(
        "version: 1\nrules:\n  - id: r\n    unless:\n      any_of:\n"
        "        - {to: {provenance: {tools: [serch_contacts]}}}\n",
        "p.yaml",
    )
    with pytest.raises(PolicyLoadError) as info:
        policy.check_tools([ToolInfo(name="search_contacts")])
    assert str(info.value) == (
        "p.yaml:6: the policy names the tool 'serch_contacts', which the agent does not have "
        "(did you mean 'search_contacts'?)"
    )
