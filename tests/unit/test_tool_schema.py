"""Tool schemas from type hints: generated signatures, generated arguments."""

from __future__ import annotations

import inspect
import keyword
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agentkit.errors import ConfigError, ToolArgumentsInvalid
from agentkit.tool import Tool, as_tool, parse_docstring, tool

# python type -> (strategy of valid JSON values, a value of the wrong JSON type)
_KINDS: dict[str, tuple[Any, st.SearchStrategy[Any], Any]] = {
    "int": (int, st.integers(-(2**40), 2**40), "not a number"),
    "float": (float, st.floats(allow_nan=False, allow_infinity=False), "1.5"),
    "str": (str, st.text(max_size=20), 17),
    "bool": (bool, st.booleans(), "yes"),
    "list_int": (list[int], st.lists(st.integers(-100, 100), max_size=5), {"a": 1}),
    "colour": (Literal["red", "green"], st.sampled_from(["red", "green"]), "blue"),
}

MAX_NAME = 12


def usable_name(name: str) -> bool:
    """A parameter name a Python function can have and a tool exposes to the model."""
    reserved = keyword.iskeyword(name) or keyword.issoftkeyword(name)
    return not reserved and name not in ("self", "cls")


signatures = st.dictionaries(
    keys=st.from_regex(rf"[a-z][a-z0-9_]{{0,{MAX_NAME - 1}}}", fullmatch=True).filter(usable_name),
    values=st.sampled_from(sorted(_KINDS)),
    min_size=1,
    max_size=6,
)


def make_tool(signature: dict[str, str]) -> Tool:
    def fn(**kwargs: Any) -> Any:
        return kwargs

    params = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=_KINDS[kind][0])
        for name, kind in signature.items()
    ]
    fn.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    fn.__annotations__ = {name: _KINDS[kind][0] for name, kind in signature.items()}
    return Tool(fn, name="generated")


@st.composite
def tool_and_arguments(draw: st.DrawFn) -> tuple[Tool, dict[str, str], dict[str, Any]]:
    signature = draw(signatures)
    arguments = {name: draw(_KINDS[kind][1]) for name, kind in signature.items()}
    return make_tool(signature), signature, arguments


@settings(max_examples=60, deadline=None)
@given(tool_and_arguments())
def test_generated_valid_arguments_validate(case: tuple[Tool, dict[str, str], Any]) -> None:
    generated, signature, arguments = case
    assert all(name.isidentifier() and usable_name(name) for name in signature)
    schema = generated.parameters
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert sorted(schema["required"]) == sorted(signature)
    assert generated.validate(arguments) == arguments


@settings(max_examples=60, deadline=None)
@given(tool_and_arguments(), st.data())
def test_generated_invalid_arguments_name_the_field(
    case: tuple[Tool, dict[str, str], Any], data: st.DataObject
) -> None:
    generated, signature, arguments = case
    victim = data.draw(st.sampled_from(sorted(signature)))
    how = data.draw(st.sampled_from(["wrong_type", "missing", "extra"]))
    bad = dict(arguments)
    if how == "wrong_type":
        bad[victim] = _KINDS[signature[victim]][2]
        expected = victim
    elif how == "missing":
        del bad[victim]
        expected = victim
    else:
        expected = "not_a_parameter_" + victim
        assert len(expected) > MAX_NAME, "longer than any generated name, so truly extra"
        bad[expected] = 1
    with pytest.raises(ToolArgumentsInvalid) as info:
        generated.validate(bad)
    assert info.value.field == expected
    assert expected in str(info.value)


class Address(BaseModel):
    city: str
    zip_code: str


def test_nested_models_are_strict_and_converted() -> None:
    @tool
    def ship(to: Address, count: int = 1) -> str:
        """Ship a parcel.

        Args:
            to: Where it goes.
            count: How many parcels.
        """
        return to.city

    shipped = as_tool(ship)
    assert shipped.description == "Ship a parcel."
    assert shipped.parameters["properties"]["to"]["description"] == "Where it goes."
    address = shipped.parameters["$defs"]["Address"]
    assert address["additionalProperties"] is False
    assert address["required"] == ["city", "zip_code"]
    values = shipped.validate({"to": {"city": "Oslo", "zip_code": "0150"}, "count": 2})
    assert values["to"] == Address(city="Oslo", zip_code="0150")
    with pytest.raises(ToolArgumentsInvalid) as info:
        shipped.validate({"to": {"city": "Oslo"}, "count": 2})
    assert info.value.field == "to.zip_code"


def test_destructive_marks_the_side_effect() -> None:
    @tool(destructive=True)
    async def drop(name: str) -> None:
        """Drop it."""

    assert as_tool(drop).destructive
    assert as_tool(drop).info.side_effect == "destructive"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Tool(lambda x: x, name="untyped"), "needs a type hint"),
        (lambda: Tool(lambda *a: a, name="varargs"), "cannot be described"),
        (lambda: Tool(lambda: 1, name="bad name!"), "must match"),
        (lambda: Tool(lambda: 1, name="t", timeout=0), "timeout must be positive"),
    ],
)
def test_tools_that_cannot_be_described_are_config_errors(make: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()


def test_docstring_args_section() -> None:
    summary, args = parse_docstring(
        "Find things.\nMore.\n\nArgs:\n    query (str): What to find,\n        across lines.\n"
        "    limit: At most this many.\n\nReturns:\n    The things."
    )
    assert summary == "Find things. More."
    assert args == {"query": "What to find, across lines.", "limit": "At most this many."}
