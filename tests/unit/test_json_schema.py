"""The one strict-schema transform shared by tool parameters and structured answers."""

from __future__ import annotations

from typing import Any

from agentkit.json_schema import strict_schema
from agentkit.tool import Tool


def test_objects_require_everything_and_titles_go() -> None:
    schema = {
        "title": "Args",
        "type": "object",
        "properties": {"a": {"title": "A", "type": "integer", "default": 1}},
        "$defs": {"Leaf": {"properties": {"x": {"type": "string"}}}},
    }
    strict = strict_schema(schema)
    assert strict == {
        "type": "object",
        "properties": {"a": {"type": "integer", "default": 1}},
        "$defs": {
            "Leaf": {
                "properties": {"x": {"type": "string"}},
                "type": "object",
                "required": ["x"],
                "additionalProperties": False,
            }
        },
        "required": ["a"],
        "additionalProperties": False,
    }
    assert "title" in schema  # the input is left alone


def test_drop_names_the_annotations_removed() -> None:
    schema = {"type": "object", "title": "T", "properties": {"a": {"default": 1, "title": "A"}}}
    strict = strict_schema(schema, drop=("default",))
    assert strict["title"] == "T"
    assert strict["properties"]["a"] == {"title": "A"}


def test_property_names_and_literal_values_are_not_annotations() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "default": {"type": "integer"}},
        "default": {"title": "kept"},
    }
    strict = strict_schema(schema, drop=("title",))
    assert strict["required"] == ["title", "default"]
    assert strict["default"] == {"title": "kept"}


def test_a_tool_parameter_named_title_is_described() -> None:
    def rename(title: str) -> str:
        return title

    assert Tool(rename).parameters["required"] == ["title"]
