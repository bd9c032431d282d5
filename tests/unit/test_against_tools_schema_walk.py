"""The schema walk behind load-time constraint checks: types from enum/const, $ref, unions."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.decision import ToolInfo
from agentkit.policy import Policy
from agentkit.policy.against_tools import _deref, _json_type, _nodes, _types, _union, problems


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "boolean"),
        (False, "boolean"),
        (3, "integer"),
        (2.5, "number"),
        ("a", "string"),
        (None, "null"),
        ({"a": 1}, "object"),
        ([1], "object"),
    ],
)
def test_json_type_of_a_value(value: Any, kind: str) -> None:
    assert _json_type(value) == kind


@pytest.mark.parametrize(
    ("node", "types"),
    [
        ({"type": "string"}, frozenset({"string"})),
        ({"type": ["integer", "null"]}, frozenset({"integer"})),
        ({"type": "null"}, None),
        ({"enum": ["a", "b"]}, frozenset({"string"})),
        ({"enum": [1, None]}, frozenset({"integer"})),
        ({"enum": [None]}, None),
        ({"const": 2.5}, frozenset({"number"})),
        ({}, None),
    ],
)
def test_types_of_a_schema_node(node: dict[str, Any], types: frozenset[str] | None) -> None:
    assert _types(node) == types


def test_refs_are_followed_through_defs_and_chains() -> None:
    root = {
        "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"type": "string"}},
        "properties": {"x": {"$ref": "#/$defs/A"}},
    }
    assert _deref(root, {"$ref": "#/$defs/A"}) == {"type": "string"}
    assert _deref(root, {"type": "integer"}) == {"type": "integer"}
    assert _deref(root, {"$ref": "#/$defs/missing"}) == {}
    loop = {"$defs": {"L": {"$ref": "#/$defs/L"}}}
    assert _deref(loop, {"$ref": "#/$defs/L"}) == {"$ref": "#/$defs/L"}, "a $ref loop ends"


def test_nodes_find_types_and_element_types_along_a_path() -> None:
    root = {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "people": {"type": "array", "items": {"$ref": "#/$defs/P"}},
            "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "either": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        },
        "$defs": {"P": {"type": "object", "properties": {"email": {"type": "string"}}}},
    }
    assert _nodes(root, root, ["n"]) == (frozenset({"integer"}), frozenset({"integer"}))
    assert _nodes(root, root, ["tags"]) == (frozenset({"array"}), frozenset({"string"}))
    assert _nodes(root, root, ["people", "email"]) == (frozenset({"string"}),) * 2
    assert _nodes(root, root, ["maybe"]) == (frozenset({"integer"}),) * 2
    assert _nodes(root, root, ["either"]) == (frozenset({"integer", "string"}),) * 2
    assert _nodes(root, root, ["nope"]) is None
    assert _nodes(root, root, ["n", "deeper"]) is None
    assert _nodes(root, {"anyOf": [{"type": "null"}]}, ["x"]) is None


def test_union_of_types_is_unknown_when_any_part_is() -> None:
    assert _union(iter([frozenset({"a"}), frozenset({"b"})])) == frozenset({"a", "b"})
    assert _union(iter([frozenset({"a"}), None])) is None
    assert _union(iter([])) == frozenset()


def test_problems_name_every_inapplicable_keyword_and_skip_unknown_tools() -> None:
    policy = Policy.from_yaml(
        "version: 1\ntools:\n  t:\n    action: allow\n    args:\n"
        "      n: {pattern: '^1', maxLength: 2, maximum: 3}\n"
        "  ghost:\n    action: allow\n    args:\n      x: {maximum: 1}\n"
    )
    info = ToolInfo(
        name="t",
        parameters={"type": "object", "properties": {"n": {"type": "integer"}}},
    )
    found = list(problems(policy.spec.tools, {"t": info}))
    assert found == [
        (
            "pattern applies to string values, but t.n is integer",
            ("tools", "t", "args", "n", "pattern"),
        ),
        (
            "maxLength applies to string values, but t.n is integer",
            ("tools", "t", "args", "n", "maxLength"),
        ),
    ]
    assert list(problems(policy.spec.tools, {"t": ToolInfo(name="t")})) == [], "no schema: no check"


def test_every_tool_and_constraint_is_checked_not_only_the_first() -> None:
    policy = Policy.from_yaml(
        "version: 1\ntools:\n  bare:\n    action: allow\n    args:\n      x: {maximum: 1}\n"
        "  t:\n    action: allow\n    args:\n      gone: {maximum: 1}\n      n: {pattern: '^1'}\n"
    )
    typed = ToolInfo(
        name="t", parameters={"type": "object", "properties": {"n": {"type": "integer"}}}
    )
    found = [
        message
        for message, _ in problems(policy.spec.tools, {"bare": ToolInfo(name="bare"), "t": typed})
    ]
    assert found == [
        "t has no argument 'gone': the constraint would never apply",
        "pattern applies to string values, but t.n is integer",
    ]


@pytest.mark.parametrize(
    "schema",
    [
        {},  # Any: nothing known
        {"type": "object", "additionalProperties": True},  # dict[str, Any]
        {"type": "object"},
    ],
)
def test_a_path_into_an_argument_of_unknown_shape_loads(schema: dict[str, Any]) -> None:
    policy = Policy.from_yaml(
        "version: 1\ntools:\n  t:\n    action: allow\n    args:\n      meta.key: {maxLength: 3}\n"
    )
    info = ToolInfo(name="t", parameters={"type": "object", "properties": {"meta": schema}})
    assert list(problems(policy.spec.tools, {"t": info})) == []


@pytest.mark.parametrize(
    "param",
    [
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}},
        {"anyOf": [{"type": "string"}, {"type": "null"}]},
    ],
)
def test_domains_on_text_load(param: dict[str, Any]) -> None:
    policy = Policy.from_yaml(
        "version: 1\ntools:\n  t:\n    action: allow\n    args:\n"
        "      url: {domains: {allow: [example.com]}}\n"
    )
    info = ToolInfo(name="t", parameters={"type": "object", "properties": {"url": param}})
    assert list(problems(policy.spec.tools, {"t": info})) == []
    scalar = ToolInfo(
        name="t", parameters={"type": "object", "properties": {"url": {"type": "integer"}}}
    )
    assert [m for m, _ in problems(policy.spec.tools, {"t": scalar})] == [
        "domains reads hosts from text, but t.url holds integer values"
    ]


def test_domains_on_a_list_of_models_is_refused() -> None:
    policy = Policy.from_yaml(
        "version: 1\ntools:\n  t:\n    action: allow\n    args:\n"
        "      people: {domains: {allow: [example.com]}}\n"
    )
    info = ToolInfo(
        name="t",
        parameters={
            "type": "object",
            "properties": {"people": {"type": "array", "items": {"$ref": "#/$defs/P"}}},
            "$defs": {"P": {"type": "object", "properties": {"email": {"type": "string"}}}},
        },
    )
    assert [m for m, _ in problems(policy.spec.tools, {"t": info})] == [
        "domains reads hosts from text, but t.people holds object values"
    ]
