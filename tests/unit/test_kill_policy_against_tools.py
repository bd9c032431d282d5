"""Constraints against a tool's schema where an argument may hold several types, or is
reached through ``$ref`` chains, unions and ``items`` of a hand-written schema."""

from __future__ import annotations

from typing import Any

from agentkit.decision import ToolInfo
from agentkit.policy import against_tools
from agentkit.policy.spec import ToolRule


def problems(args: dict[str, Any], properties: dict[str, Any]) -> list[tuple[str, Any]]:
    rules = {"t": ToolRule.model_validate({"action": "allow", "args": args})}
    schema = {"type": "object", "properties": properties}
    return list(against_tools.problems(rules, {"t": ToolInfo(name="t", parameters=schema)}))


def test_a_check_on_a_union_names_every_type_the_union_holds() -> None:
    union = {"anyOf": [{"type": "string"}, {"type": "boolean"}]}
    assert problems({"v": {"minimum": 1}}, {"v": union}) == [
        (
            "minimum applies to integer or number values, but t.v is boolean or string",
            ("tools", "t", "args", "v", "minimum"),
        )
    ]


def test_a_check_fits_a_union_when_one_branch_fits() -> None:
    union = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    assert problems({"v": {"minimum": 1}, "w": {"pattern": "^a"}}, {"v": union, "w": union}) == []


def test_a_union_with_a_branch_of_unknown_type_is_not_checked() -> None:
    union = {"anyOf": [{"type": "boolean"}, {}]}
    assert problems({"v": {"minimum": 1, "domains": {"deny": ["x.example"]}}}, {"v": union}) == []


def test_domains_on_a_union_of_non_text_elements_names_their_types() -> None:
    union = {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "boolean"}]}
    assert problems({"v": {"domains": {"deny": ["x.example"]}}}, {"v": union}) == [
        (
            "domains reads hosts from text, but t.v holds boolean or integer values",
            ("tools", "t", "args", "v", "domains"),
        )
    ]


def problems_in(
    args: dict[str, Any], properties: dict[str, Any], defs: dict[str, Any]
) -> list[tuple[str, Any]]:
    """`problems` on a hand-written schema with ``$defs`` (a Tool may be given one)."""
    rules = {"t": ToolRule.model_validate({"action": "allow", "args": args})}
    schema = {"type": "object", "properties": properties, "$defs": defs}
    return list(against_tools.problems(rules, {"t": ToolInfo(name="t", parameters=schema)}))


def ref_chain(hops: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A property reaching an integer after `hops` ``$ref`` hops, and the ``$defs`` it uses."""
    defs: dict[str, Any] = {f"d{i}": {"$ref": f"#/$defs/d{i + 1}"} for i in range(hops - 1)}
    defs[f"d{hops - 1}"] = {"type": "integer"}
    return {"$ref": "#/$defs/d0"}, defs


PATTERN_ON_INTEGER = (
    "pattern applies to string values, but t.v is integer",
    ("tools", "t", "args", "v", "pattern"),
)


def test_a_chain_of_32_refs_is_followed_to_its_type() -> None:
    prop, defs = ref_chain(32)
    assert problems_in({"v": {"pattern": "^a"}}, {"v": prop}, defs) == [PATTERN_ON_INTEGER]


def test_a_chain_of_33_refs_is_not_followed_and_its_type_is_unknown() -> None:
    prop, defs = ref_chain(33)
    assert problems_in({"v": {"pattern": "^a"}}, {"v": prop}, defs) == []


def test_a_ref_into_a_list_reads_as_a_schema_of_unknown_type() -> None:
    defs = {"choices": [{"type": "integer"}]}
    assert problems_in({"v": {"pattern": "^a"}}, {"v": {"$ref": "#/$defs/choices/0"}}, defs) == []


def test_a_null_branch_reached_through_a_ref_is_left_out_of_a_union() -> None:
    union = {"anyOf": [{"$ref": "#/$defs/nothing"}, {"type": "integer"}]}
    defs = {"nothing": {"type": "null"}}
    assert problems_in({"v": {"pattern": "^a"}}, {"v": union}, defs) == [PATTERN_ON_INTEGER]


def test_items_on_an_object_schema_are_not_a_path_through_a_list() -> None:
    v = {
        "type": "object",
        "properties": {"p": {"type": "string"}},
        "items": {"type": "integer"},
    }
    assert problems_in({"v.p": {"pattern": "^a"}}, {"v": v}, {}) == []
