"""Constraints against a tool's schema where an argument may hold several types."""

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
