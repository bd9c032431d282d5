"""Strict tool schemas round-trip every parameter type pydantic accepts: over generated
signatures (nested models, dicts, lists of dicts, optionals, literals, enums, names that
collide with JSON Schema keywords or Python keywords), every value the signature accepts
is accepted by the advertised schema and by validation, and a value of the wrong type is a
typed tool error, never a raw pydantic error."""

from __future__ import annotations

import contextlib
import enum
import inspect
import json
from typing import Annotated, Any, Literal, Optional

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, create_model

from agentkit import Tool, ToolArgumentsInvalid


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


KEYWORD_NAMES = [
    "title", "type", "properties", "items", "required", "default", "enum", "format",
    "description", "anyOf", "additionalProperties", "const", "ref",
]  # fmt: skip
PYTHON_KEYWORDS = ["from", "in", "class", "def", "import", "return"]
PLAIN_NAMES = ["to", "body", "when", "n"]

json_text = st.text(max_size=8)
scalars: list[tuple[Any, st.SearchStrategy[Any]]] = [
    (str, json_text),
    (int, st.integers(-(10**6), 10**6)),
    (float, st.floats(-1e6, 1e6, allow_nan=False)),
    (bool, st.booleans()),
    (Literal["a", "b"], st.sampled_from(["a", "b"])),
    (Colour, st.sampled_from(["red", "blue"])),
    (Any, st.none() | st.integers() | json_text),
]
_models = 0


def _model(fields: list[tuple[str, tuple[Any, st.SearchStrategy[Any]]]]) -> tuple[Any, Any]:
    global _models
    _models += 1
    unique = dict(fields)
    model = create_model(f"Nested{_models}", **{n: (t, ...) for n, (t, _) in unique.items()})
    values = st.fixed_dictionaries({n: s for n, (_, s) in unique.items()})
    return model, values


def types(depth: int = 2) -> st.SearchStrategy[tuple[Any, st.SearchStrategy[Any]]]:
    base = st.sampled_from(scalars)
    if depth == 0:
        return base
    inner = types(depth - 1)
    return st.one_of(
        base,
        inner.map(lambda ts: (list[ts[0]], st.lists(ts[1], max_size=3))),
        inner.map(lambda ts: (dict[str, ts[0]], st.dictionaries(json_text, ts[1], max_size=3))),
        inner.map(lambda ts: (Optional[ts[0]], st.none() | ts[1])),  # noqa: UP045
        st.lists(
            st.tuples(st.sampled_from(KEYWORD_NAMES + PLAIN_NAMES), inner), min_size=1, max_size=3
        ).map(_model),
        st.lists(
            st.tuples(st.sampled_from(KEYWORD_NAMES + PLAIN_NAMES), inner), min_size=1, max_size=2
        )
        .map(_model)
        .map(lambda ms: (list[ms[0]], st.lists(ms[1], max_size=2))),
    )


def tool_of(params: dict[str, Any]) -> Tool:
    """A tool whose signature has exactly `params` (a Python keyword is declared by alias)."""

    def body(**kwargs: Any) -> str:
        return json.dumps(sorted(kwargs))

    parameters, annotations = [], {}
    for name, annotation in params.items():
        py_name = f"{name}_" if name in PYTHON_KEYWORDS else name
        hint = Annotated[annotation, Field(alias=name)] if py_name != name else annotation
        parameters.append(inspect.Parameter(py_name, inspect.Parameter.KEYWORD_ONLY))
        annotations[py_name] = hint
    body.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    body.__annotations__ = annotations
    body.__doc__ = "A generated tool."
    return Tool(body, name="generated")


signatures = st.dictionaries(
    st.sampled_from(KEYWORD_NAMES + PYTHON_KEYWORDS + PLAIN_NAMES), types(), min_size=1, max_size=4
)


@settings(max_examples=150, deadline=None)
@given(signature=signatures, data=st.data())
def test_every_value_the_signature_accepts_passes_the_advertised_schema(
    signature: dict[str, tuple[Any, st.SearchStrategy[Any]]], data: st.DataObject
) -> None:
    tool = tool_of({name: annotation for name, (annotation, _) in signature.items()})
    schema = tool.wire()["parameters"]
    assert sorted(schema["properties"]) == sorted(signature)
    assert sorted(schema["required"]) == sorted(signature)
    jsonschema.Draft202012Validator.check_schema(schema)
    arguments = data.draw(st.fixed_dictionaries({n: s for n, (_, s) in signature.items()}))
    jsonschema.validate(arguments, schema)  # what the model is told it may send
    validated = tool.validate(arguments)  # and what validation then accepts
    assert len(validated) == len(signature)


@settings(max_examples=100, deadline=None)
@given(signature=signatures, data=st.data())
def test_a_value_of_the_wrong_shape_is_a_tool_error(
    signature: dict[str, tuple[Any, st.SearchStrategy[Any]]], data: st.DataObject
) -> None:
    tool = tool_of({name: annotation for name, (annotation, _) in signature.items()})
    arguments = data.draw(st.fixed_dictionaries({n: s for n, (_, s) in signature.items()}))
    name = data.draw(st.sampled_from(sorted(signature)))
    wrong = data.draw(st.sampled_from([{"unexpected": [1]}, [[["deep"]]], 1.5, "text", None]))
    with contextlib.suppress(ToolArgumentsInvalid):  # any other exception fails the test
        tool.validate({**arguments, name: wrong})  # a wrong value that fits (None) may pass


def test_an_explicit_schema_the_signature_disagrees_with_is_a_tool_error() -> None:
    def search(query: int) -> str:
        """Search."""
        return str(query)

    loose = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
    tool = Tool(search, parameters=loose)
    with pytest.raises(ToolArgumentsInvalid, match="query"):
        tool.validate({"query": "not a number"})


def test_a_free_form_dict_and_a_list_of_dicts_take_values() -> None:
    def send(attachments: list[dict[str, Any]], headers: dict[str, str]) -> str:
        """Send."""
        return "ok"

    tool = Tool(send)
    value = {"attachments": [{"name": "a.pdf", "size": 3}], "headers": {"X-Tag": "1"}}
    jsonschema.validate(value, tool.wire()["parameters"])
    assert tool.validate(value)["attachments"] == [{"name": "a.pdf", "size": 3}]
    with pytest.raises(ToolArgumentsInvalid, match="headers"):
        tool.validate({**value, "headers": {"X-Tag": 1}})


class Event(BaseModel):
    title: str
    type: str
    items: list[str]


def test_a_nested_model_s_fields_named_like_keywords_are_kept() -> None:
    def create(event: Event, title: str) -> str:
        """Create an event."""
        return event.title + title

    tool = Tool(create)
    value = {"event": {"title": "t", "type": "x", "items": ["a"]}, "title": "y"}
    jsonschema.validate(value, tool.wire()["parameters"])
    assert tool.validate(value)["event"].items == ["a"]
