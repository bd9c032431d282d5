"""Properties of decide() over generated policies, principals and calls."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.decision import (
    ALWAYS_CONFIRMED,
    SIDE_EFFECTS,
    History,
    PastCall,
    Principal,
    ProposedCall,
    ToolInfo,
)
from agentkit.policy import Policy

TOOLS = ["t0", "t1", "t2", "t3"]
ROLES = ["r0", "r1", "r2"]
SEVERITY = {"allow": 0, "confirm": 1, "deny": 2}

actions = st.sampled_from(["allow", "deny", "confirm"])
side_effects = st.sampled_from(SIDE_EFFECTS)
role_lists = st.none() | st.lists(st.sampled_from(ROLES), max_size=2, unique=True)


@st.composite
def tool_rules(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {"action": draw(actions)}
    if (roles := draw(role_lists)) is not None:
        rule["roles"] = roles
    if draw(st.booleans()):
        rule["args"] = {"n": {"maximum": draw(st.integers(0, 10))}}
    return rule


@st.composite
def rules(draw: st.DrawFn, index: int) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": f"rule{index}",
        "action": draw(st.sampled_from(["deny", "confirm"])),
        "tools": draw(st.lists(st.sampled_from(TOOLS), max_size=2, unique=True)),
        "classes": draw(st.lists(side_effects, max_size=2, unique=True)),
    }
    if draw(st.booleans()):
        rule["after_untrusted"] = True
    if draw(st.booleans()):
        rule["when"] = {"n": {"minimum": draw(st.integers(0, 10))}}
    return rule


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = {"version": 1, "roles": {r: {} for r in ROLES}}
    spec["tools"] = draw(st.dictionaries(st.sampled_from(TOOLS), tool_rules(), max_size=3))
    classes = draw(st.dictionaries(side_effects, st.fixed_dictionaries({"action": actions})))
    spec["classes"] = {
        c: r for c, r in classes.items() if not (c in ALWAYS_CONFIRMED and r["action"] == "allow")
    }
    spec["rules"] = [draw(rules(i)) for i in range(draw(st.integers(0, 3)))]
    return spec


@st.composite
def situations(draw: st.DrawFn) -> tuple[Principal, ProposedCall, History]:
    principal = Principal(roles=tuple(draw(st.lists(st.sampled_from([*ROLES, "x"]), max_size=2))))
    tool = ToolInfo(name=draw(st.sampled_from([*TOOLS, "unknown"])), side_effect=draw(side_effects))
    arguments = draw(st.fixed_dictionaries({}, optional={"n": st.integers(-5, 15)}))
    untrusted = draw(st.booleans())
    calls = (
        PastCall(
            call_id="p",
            tool="web",
            side_effect="read",
            arguments={},
            action="allow",
            executed=True,
            untrusted_output=untrusted,
        ),
    )
    return (
        principal,
        ProposedCall(call_id="c", tool=tool, arguments=arguments),
        History(calls=calls),
    )


def load(spec: dict[str, Any]) -> Policy:
    return Policy.from_yaml(yaml.safe_dump(spec))


@settings(max_examples=150, deadline=None)
@given(policies(), situations())
def test_decisions_are_deterministic_and_name_a_rule(
    spec: dict[str, Any], situation: tuple[Principal, ProposedCall, History]
) -> None:
    policy = load(spec)
    first = policy.decide(*situation)
    assert first == load(spec).decide(*situation)
    assert first.rule
    assert first.reason


@settings(max_examples=150, deadline=None)
@given(policies(), situations())
def test_unknown_tools_are_denied_by_default(
    spec: dict[str, Any], situation: tuple[Principal, ProposedCall, History]
) -> None:
    principal, call, history = situation
    if call.tool.name in spec["tools"] or call.tool.side_effect in spec["classes"]:
        return
    decision = load(spec).decide(principal, call, history)
    assert decision.action == "deny"


@settings(max_examples=150, deadline=None)
@given(policies(), situations(), st.sampled_from(ALWAYS_CONFIRMED))
def test_destructive_calls_are_never_plainly_allowed(
    spec: dict[str, Any], situation: tuple[Principal, ProposedCall, History], floored: str
) -> None:
    principal, call, history = situation
    destructive = call.tool.model_copy(update={"side_effect": floored})
    call = call.model_copy(update={"tool": destructive})
    decision = load(spec).decide(principal, call, history)
    assert decision.action != "allow"


@settings(max_examples=150, deadline=None)
@given(policies(), situations(), st.sampled_from(["deny", "confirm"]))
def test_an_added_rule_never_loosens_a_decision(
    spec: dict[str, Any],
    situation: tuple[Principal, ProposedCall, History],
    action: str,
) -> None:
    before = load(spec).decide(*situation)
    spec["rules"].append({"id": "extra", "action": action, "tools": [situation[1].tool.name]})
    after = load(spec).decide(*situation)
    assert SEVERITY[after.action] >= max(SEVERITY[before.action], SEVERITY[action])
    if action == "deny":
        assert after.action == "deny"
