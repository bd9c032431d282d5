"""Properties of the language's constructs over generated inputs: split recipient lists,
classes per call, sensitive values wherever they are put, and tool sets however nested."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.policy import Policy
from agentkit.testing.decisions import decide, past_call
from agentkit.testing.decisions import proposed_call as call

CONTACTS = ["ana@example.com", "bob@example.com", "Cy@Example.COM"]
STRANGERS = ["eve@evil.test", "mallory@example.net"]

SPLIT = Policy.from_yaml(
    json.dumps(
        {
            "version": 1,
            "lists": {"contacts": {"normalise": "email", "values": CONTACTS}},
            "tools": {
                "send": {
                    "action": "allow",
                    "args": {"to": {"normalise": "email", "split": ",;", "in_list": "contacts"}},
                }
            },
            "rules": [
                {
                    "id": "not-all-contacts",
                    "tools": ["send"],
                    "unless": {"to": {"normalise": "email", "split": ",;", "in_list": "contacts"}},
                    "action": "confirm",
                }
            ],
        }
    )
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(CONTACTS + STRANGERS), min_size=1, max_size=5),
    st.lists(st.sampled_from([",", ";", ", ", " ; ", ",,"]), min_size=4, max_size=4),
)
def test_a_recipient_list_passes_exactly_when_every_address_does(
    addresses: list[str], separators: list[str]
) -> None:
    text = addresses[0]
    for address, separator in zip(addresses[1:], separators, strict=False):
        text += separator + address
    decision = decide(SPLIT, call("send", to=text))
    if all(a in CONTACTS for a in addresses):
        assert decision.rule == "tools.send"
    else:
        assert decision.rule == "tools.send.args.to"


VALUES = {"list": "read", "share": "external_send", "delete": "destructive", "wipe": "financial"}
BY = Policy.from_yaml(
    json.dumps(
        {
            "version": 1,
            "tools": {
                "files": {
                    "side_effect": "write",
                    "action": "allow",
                    "side_effect_by": {
                        "arg": "op",
                        "values": VALUES,
                        "default": "security_settings",
                    },
                }
            },
            "rules": [
                {"id": f"r-{c}", "classes": [c], "action": "confirm"} for c in VALUES.values()
            ],
        }
    )
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.sampled_from([*VALUES, "Delete", "", "LIST"]),
        st.none(),
        st.integers(),
        st.lists(st.sampled_from(list(VALUES)), min_size=1, max_size=3),
        st.just(...),
    )
)
def test_the_call_has_its_tool_class_and_the_class_its_argument_picks(op: Any) -> None:
    arguments = {} if op is ... else {"op": op}
    decision = decide(BY, call("files", "write", **arguments))
    picked = {
        VALUES.get(v, "security_settings") if isinstance(v, str) else "security_settings"
        for v in (op if isinstance(op, list) else [op])
    }
    rules = {f"rules.r-{c}" for c in picked if c in VALUES.values()}
    floored = picked & {"destructive", "security_settings"}
    if rules:
        assert decision.rule in rules
        assert decision.action == "confirm"
    elif floored:
        assert (decision.action, decision.rule) == ("confirm", "security_settings")
    else:
        assert decision.action == "allow"


SINK = Policy.from_yaml(
    json.dumps(
        {
            "version": 1,
            "tools": {
                "profile": {
                    "action": "allow",
                    "sensitive": {"label": "card", "fields": ["card"], "normalise": "account"},
                },
                "post": {"action": "allow"},
            },
            "sinks": [{"id": "cards", "labels": ["card"], "action": "deny"}],
        }
    )
)
CARD = "4237425274562574"


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["", " ", "-", " - "]),
    st.text(alphabet="abc xyz.,:", max_size=12),
    st.text(alphabet="abc xyz.,:", max_size=12),
    st.sampled_from(["text", "nested", "list"]),
)
def test_a_card_number_is_found_however_it_is_grouped_and_wherever_it_is_put(
    grouping: str, before: str, after: str, where: str
) -> None:
    grouped = grouping.join(CARD[i : i + 4] for i in range(0, 16, 4))
    text = f"{before} {grouped} {after}"
    arguments = {
        "text": {"message": text},
        "nested": {"message": {"parts": [{"body": text}]}},
        "list": {"message": ["hello", text]},
    }[where]
    ran = (past_call("profile", output=json.dumps({"name": "Emma", "card": CARD})),)
    assert decide(SINK, call("post", **arguments), calls=ran).rule == "sinks.cards"
    assert decide(SINK, call("post", **arguments)).action == "allow"


@st.composite
def nested_sets(draw: st.DrawFn) -> tuple[dict[str, list[str]], str, set[str]]:
    """Sets s0..sn, each naming tools and earlier sets; returns the sets, one set's name
    and the tools it stands for."""
    sets: dict[str, list[str]] = {}
    members: dict[str, set[str]] = {}
    for i in range(draw(st.integers(1, 5))):
        tools = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=3))
        inner = draw(st.lists(st.sampled_from(sorted(sets) or ["a"]), max_size=2))
        entries = tools + [s for s in inner if s in sets] or ["a"]
        sets[f"s{i}"] = entries
        members[f"s{i}"] = {t for e in entries for t in (members.get(e) or {e})}
    name = draw(st.sampled_from(sorted(sets)))
    return sets, name, members[name]


@settings(max_examples=150, deadline=None)
@given(nested_sets(), st.sampled_from(["a", "b", "c", "d", "e"]))
def test_a_set_stands_for_exactly_its_tools(
    found: tuple[dict[str, list[str]], str, set[str]], tool: str
) -> None:
    sets, name, tools = found
    policy = Policy.from_yaml(
        json.dumps(
            {
                "version": 1,
                "classes": {"read": {"action": "allow"}},
                "tool_sets": sets,
                "rules": [{"id": "r", "tools": [name], "action": "confirm"}],
            }
        )
    )
    assert (decide(policy, call(tool)).rule == "rules.r") == (tool in tools)
