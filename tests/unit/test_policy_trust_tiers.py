"""trust: three tiers per argument: trusted (the user, a list, a named trusted tool, a value
a person approved), seen only in third-party output, found nowhere; each with an action.
The property test places a value anywhere in a run and checks the tier's action."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.decision import PastCall
from agentkit.errors import PolicyInvalid, PolicyLoadError
from agentkit.policy import Policy
from agentkit.testing.decisions import decide, past_call
from agentkit.testing.decisions import proposed_call as call

ACTIONS = ("allow", "confirm", "deny")
PLACES = ("user", "list", "named_tool", "other_tool", "untrusted_tool", "approved", "failed")
TRUSTED = {"user", "list", "named_tool", "approved"}
VALUE = "dora@example.com"
OTHER = "zed@example.net"


def policy(tiers: dict[str, str]) -> Policy:
    spec = {
        "version": 1,
        "lists": {"contacts": {"normalise": "email", "values": [OTHER]}},
        "tools": {
            "invite": {
                "side_effect": "write",
                "action": "allow",
                "args": {
                    "email": {
                        "normalise": "email",
                        "trust": {"lists": ["contacts"], "tools": ["search_contacts"], **tiers},
                    }
                },
            }
        },
    }
    return Policy.from_yaml(json.dumps(spec))


def history(places: set[str]) -> dict[str, Any]:
    text = f"write to {VALUE.upper()} today"
    calls: list[PastCall] = []
    if "named_tool" in places:
        calls.append(past_call("search_contacts", output=text))
    if "other_tool" in places:
        calls.append(past_call("get_calendar", output=text))
    if "untrusted_tool" in places:
        calls.append(past_call("read_inbox", untrusted=True, output=text))
    if "approved" in places:
        approved = past_call("invite", "write", email=VALUE)
        calls.append(approved.model_copy(update={"approved_by": "ana", "action": "confirm"}))
    if "failed" in places:
        calls.append(past_call("search_contacts", output=text).model_copy(update={"failed": True}))
    return {
        "calls": tuple(calls),
        "user_messages": (f"please invite {VALUE}",) if "user" in places else (),
    }


def expected_tier(places: set[str]) -> str:
    if places & TRUSTED:
        return "trusted"
    if places & {"other_tool", "untrusted_tool", "failed"}:
        return "third_party"
    return "nowhere"


tier_specs = st.fixed_dictionaries(
    {}, optional={t: st.sampled_from(ACTIONS) for t in ("trusted", "third_party", "nowhere")}
)


@settings(max_examples=300, deadline=None)
@given(st.sets(st.sampled_from(PLACES)), tier_specs)
def test_each_tier_takes_its_action(places: set[str], tiers: dict[str, str]) -> None:
    # "list": the call sends the address on the contacts list instead
    sent = OTHER if "list" in places else VALUE
    actions = {"trusted": "allow", "third_party": "confirm", "nowhere": "deny", **tiers}
    tier = expected_tier(places)
    decision = decide(policy(tiers), call("invite", "write", email=sent), **history(places))
    assert decision.action == actions[tier]
    rule = "tools.invite" if actions[tier] == "allow" else "tools.invite.args.email"
    assert decision.rule == rule


def test_third_party_names_the_tool_the_value_came_from() -> None:
    decision = decide(
        policy({}), call("invite", "write", email=VALUE), **history({"untrusted_tool"})
    )
    assert decision.action == "confirm"
    assert "appears only in output of read_inbox" in decision.reason


def test_each_address_of_a_split_list_is_judged_and_the_worst_wins() -> None:
    text = json.dumps(
        {
            "version": 1,
            "tools": {
                "send": {
                    "action": "allow",
                    "args": {"to": {"normalise": "email", "split": ",;", "trust": {}}},
                }
            },
        }
    )
    p = Policy.from_yaml(text)
    seen = {"calls": (past_call("read_inbox", untrusted=True, output="from b@x.com"),)}
    mine = {"user_messages": ("mail a@x.com",)}
    assert (
        decide(
            p,
            call(
                "send",
                to="a@x.com",
            ),
            **mine,
        ).action
        == "allow"
    )
    both = {**seen, **mine}
    assert decide(p, call("send", to="a@x.com; b@x.com"), **both).action == "confirm"
    assert decide(p, call("send", to="a@x.com, b@x.com, c@x.com"), **both).action == "deny"


def test_allow_deny_deny_compiles_to_a_plain_provenance_constraint() -> None:
    p = policy({"third_party": "deny"})
    [constraint] = p._compiled.tools["invite"].constraints
    assert constraint.trust is None
    assert constraint.provenance is not None
    decision = decide(p, call("invite", "write", email=VALUE), **history({"untrusted_tool"}))
    assert decision.action == "deny"
    assert "appears only in untrusted output of read_inbox" in decision.reason


def test_a_null_passes_as_it_does_for_provenance() -> None:
    assert decide(policy({}), call("invite", "write", email=None)).action == "allow"


def test_trust_in_a_condition_is_a_load_error() -> None:
    text = "version: 1\nrules:\n  - id: r\n    unless:\n      to: {trust: {}}\n"
    with pytest.raises(PolicyLoadError) as info:
        Policy.from_yaml(text, "p.yaml")
    assert str(info.value).startswith("p.yaml:5: trust decides a call's action")


def test_trust_and_provenance_together_are_refused() -> None:
    text = "version: 1\ntools:\n  t:\n    args:\n      a: {trust: {}, provenance: {}}\n"
    with pytest.raises(PolicyInvalid) as info:
        Policy.from_yaml(text, "p.yaml")
    assert "give the sources under trust" in str(info.value.problems[0])


def test_an_unknown_list_or_tool_under_trust_is_a_load_error() -> None:
    text = "version: 1\ntools:\n  t:\n    args:\n      a: {trust: {lists: [nope]}}\n"
    with pytest.raises(PolicyLoadError, match=r"trust\.lists names the list 'nope'"):
        Policy.from_yaml(text, "p.yaml")
    from agentkit.decision import ToolInfo

    p = Policy.from_yaml(
        "version: 1\ntools:\n  t:\n    args:\n      a: {trust: {tools: [serch]}}\n", "p.yaml"
    )
    with pytest.raises(PolicyLoadError, match=r"p.yaml:5: .*'serch'.*did you mean 'search'"):
        p.check_tools([ToolInfo(name="t"), ToolInfo(name="search")])
