"""Arguments generated to fit a tool's JSON Schema (and broken on purpose)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.testing import fit_arguments
from agentkit.testing.schema_args import break_arguments

Validator = jsonschema.Draft202012Validator


def leaf_schemas() -> st.SearchStrategy[dict[str, Any]]:
    bounds = st.integers(-1000, 1000)
    integer = st.builds(
        lambda low, span, step: {
            "type": "integer",
            "minimum": low,
            "maximum": low + span * step,
            "multipleOf": step,
        },
        bounds,
        st.integers(1, 10),
        st.integers(1, 5),
    )
    exclusive = st.builds(
        lambda low, span: {
            "type": "number",
            "exclusiveMinimum": low,
            "exclusiveMaximum": low + span,
        },
        st.floats(-1e6, 1e6),
        st.floats(0.001, 100),
    )
    string = st.builds(
        lambda low, extra: {"type": "string", "minLength": low, "maxLength": low + extra},
        st.integers(0, 40),
        st.integers(0, 10),
    )
    capped = st.builds(
        lambda high, step: {"type": "integer", "maximum": high, "multipleOf": step},
        bounds,
        st.integers(1, 5),
    )
    number = st.builds(
        lambda low, span: {"type": "number", "minimum": low, "maximum": low + span},
        st.floats(-1e6, 1e6),
        st.floats(0, 100),
    )
    formatted = st.sampled_from(["date", "date-time", "email", "uri", "uuid", "ipv4"]).map(
        lambda fmt: {"type": "string", "format": fmt}
    )
    enum = st.lists(st.one_of(st.text(max_size=5), st.integers()), min_size=1, max_size=4).map(
        lambda values: {"enum": values}
    )
    simple = st.sampled_from(
        [{"type": "boolean"}, {"type": "null"}, {"type": ["string", "null"]}, {"const": "fixed"}]
    )
    return st.one_of(integer, capped, number, exclusive, string, formatted, enum, simple)


def schemas() -> st.SearchStrategy[dict[str, Any]]:
    def extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        properties = st.dictionaries(
            st.from_regex(r"[a-z]{1,8}", fullmatch=True), children, max_size=4
        )
        obj = properties.flatmap(
            lambda props: st.builds(
                lambda required: {
                    "type": "object",
                    "properties": props,
                    "required": required,
                    "additionalProperties": False,
                },
                st.lists(st.sampled_from(sorted(props)), unique=True) if props else st.just([]),
            )
        )
        array = st.builds(
            lambda items, low: {
                "type": "array",
                "items": items,
                "minItems": low,
                "maxItems": low + 2,
            },
            children,
            st.integers(0, 3),
        )
        any_of = st.lists(children, min_size=1, max_size=3).map(
            lambda branches: {"anyOf": branches}
        )
        return st.one_of(obj, array, any_of)

    return st.recursive(leaf_schemas(), extend, max_leaves=12)


def as_tool_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"value": schema},
        "required": ["value"],
        "additionalProperties": False,
    }


@settings(max_examples=300, deadline=None)
@given(schemas())
def test_generated_arguments_fit_the_schema(schema: dict[str, Any]) -> None:
    tool_schema = as_tool_schema(schema)
    arguments = fit_arguments(tool_schema)
    Validator(tool_schema, format_checker=Validator.FORMAT_CHECKER).validate(arguments)


@settings(max_examples=200, deadline=None)
@given(schemas())
def test_broken_arguments_break_the_schema(schema: dict[str, Any]) -> None:
    tool_schema = as_tool_schema(schema)
    broken = break_arguments(tool_schema, fit_arguments(tool_schema))
    assert not Validator(tool_schema).is_valid(broken)


def test_refs_into_defs_are_followed() -> None:
    schema = {
        "type": "object",
        "$defs": {
            "Priority": {"type": "string", "enum": ["low", "high"]},
            "Ticket": {
                "type": "object",
                "properties": {"id": {"type": "integer", "minimum": 100}},
                "required": ["id"],
            },
        },
        "properties": {
            "ticket": {"$ref": "#/$defs/Ticket"},
            "priority": {"$ref": "#/$defs/Priority"},
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 2,
                "uniqueItems": True,
            },
        },
        "required": ["ticket", "priority", "tags"],
    }
    arguments = fit_arguments(schema)
    Validator(schema).validate(arguments)
    assert arguments["ticket"] == {"id": 100}
    assert arguments["priority"] == "low"


def test_float_multiple_of_is_exact() -> None:
    schema = as_tool_schema({"type": "number", "minimum": 0.25, "multipleOf": 0.1})
    Validator(schema).validate(fit_arguments(schema))


def test_draft4_boolean_exclusive_flags_are_not_bounds() -> None:
    schema = as_tool_schema({"type": "integer", "minimum": 5, "exclusiveMinimum": True})
    assert fit_arguments(schema) == {"value": 5}


@pytest.mark.parametrize("schema", [None, {}, {"type": "object"}])
def test_empty_schemas_give_empty_arguments(schema: dict[str, Any] | None) -> None:
    assert fit_arguments(schema) == {}


def test_breaking_without_required_properties_changes_a_type() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    broken = break_arguments(schema, fit_arguments(schema))
    assert not Validator(schema).is_valid(broken)
