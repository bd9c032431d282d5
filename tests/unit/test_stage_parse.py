"""Stage parse: the arguments string of one call becomes a JSON object or a tool error."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit.canonical import canonical_json
from agentkit.errors import ToolArgumentsInvalid
from agentkit.pipeline.parse import MAX_ARGUMENTS_CHARS, parse_arguments
from agentkit.state import arguments_digest


def padded_object(length: int) -> str:
    """A JSON object string of exactly `length` characters."""
    frame = '{"a":""}'
    text = '{"a":"' + "x" * (length - len(frame)) + '"}'
    assert len(text) == length
    return text


def test_arguments_exactly_at_the_cap_parse() -> None:
    raw = padded_object(MAX_ARGUMENTS_CHARS)
    assert parse_arguments("t", raw) == {"a": "x" * (MAX_ARGUMENTS_CHARS - 8)}


def test_arguments_one_past_the_cap_are_refused_with_their_length() -> None:
    raw = padded_object(MAX_ARGUMENTS_CHARS + 1)
    with pytest.raises(ToolArgumentsInvalid) as info:
        parse_arguments("big_tool", raw)
    message = str(info.value)
    assert f"{MAX_ARGUMENTS_CHARS + 1} characters" in message
    assert f"the limit is {MAX_ARGUMENTS_CHARS}" in message
    assert "big_tool" in message
    assert info.value.tool == "big_tool"


def test_the_cap_is_checked_before_parsing() -> None:
    raw = " " * (MAX_ARGUMENTS_CHARS + 1)
    with pytest.raises(ToolArgumentsInvalid, match="characters; the limit is"):
        parse_arguments("t", raw)


@pytest.mark.parametrize("raw", ["", "   ", "\n\t"])
def test_an_empty_or_blank_string_is_an_empty_object(raw: str) -> None:
    assert parse_arguments("t", raw) == {}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant: str) -> None:
    with pytest.raises(ToolArgumentsInvalid) as info:
        parse_arguments("calc", f'{{"x": {constant}}}')
    assert "not valid JSON" in str(info.value)
    assert f"{constant} is not a JSON value" in str(info.value)
    assert info.value.tool == "calc"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [("[1, 2]", "list"), ('"text"', "str"), ("3", "int"), ("null", "NoneType"), ("true", "bool")],
)
def test_json_that_is_not_an_object_is_refused_naming_its_type(raw: str, kind: str) -> None:
    with pytest.raises(ToolArgumentsInvalid) as info:
        parse_arguments("t", raw)
    assert str(info.value) == f"arguments for t must be a JSON object, got {kind}"
    assert info.value.tool == "t"


def test_malformed_json_is_refused_without_a_chained_cause() -> None:
    with pytest.raises(ToolArgumentsInvalid) as info:
        parse_arguments("t", '{"a": ')
    assert str(info.value).startswith("arguments for t are not valid JSON: ")
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_deeply_nested_json_is_a_tool_error_not_a_crash() -> None:
    depth = 5_000
    with pytest.raises(ToolArgumentsInvalid, match="not valid JSON"):
        parse_arguments("t", '{"a":' + "[" * depth + "]" * depth + "}")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_any_json_object_round_trips(value: dict[str, object]) -> None:
    assert parse_arguments("t", json.dumps(value)) == value


@pytest.mark.parametrize(
    "raw",
    ['{"n": ' + "9" * 5000 + "}", '{"n": -' + "1" * 4301 + "}", '{"n": 1e999999}', '{"n": NaN}'],
)
def test_numbers_json_cannot_carry_are_invalid_arguments(raw: str) -> None:
    with pytest.raises(ToolArgumentsInvalid):
        parse_arguments("t", raw)


async def test_a_run_whose_model_sends_a_huge_integer_goes_on_and_writes_its_end() -> None:
    from agentkit import Agent, tool
    from agentkit.audit import capture_audit
    from agentkit.testing import Turn, scripted_client

    class Counter(Agent):
        @tool
        async def count(self, n: int) -> str:
            """Count."""
            return str(n)

    huge = '{"n": ' + "9" * 5000 + "}"
    with capture_audit() as audit:
        agent = Counter(
            client=scripted_client([Turn.call("count", huge), Turn.text("sorry")]), audit=audit
        )
        result = await agent.run("count")
    assert result.status == "completed"
    assert result.steps[0].status == "invalid"
    assert audit.events[-1] == "run.ended"


def _escape(code: int) -> str:
    return f"\\u{code:04x}"


PIECES = [
    "a",
    "\u00e9",
    "\U0001f600",
    "\ud800",  # a raw lone surrogate in the text itself
    _escape(0xD800),
    _escape(0xDFFF),
    _escape(0xDBFF),
    _escape(0xD83D) + _escape(0xDE00),  # a valid pair: one character
    _escape(0xD7FF),
    _escape(0x41),
]
json_strings = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)


def _lone(text: str) -> bool:
    decoded = json.loads(f'"{text}"')
    return any("\ud800" <= ch <= "\udfff" for ch in decoded)


@given(key=json_strings, value=json_strings, nested=st.booleans())
def test_arguments_are_valid_unicode_or_refused(key: str, value: str, nested: bool) -> None:
    """A lone surrogate, escaped or raw, in a key or a value at any depth, is refused at parse,
    so everything after it (the approval digest, the audit, the policy) sees valid Unicode."""
    inner = f'{{"{key}": "{value}"}}'
    body = f'{{"v": [{inner}]}}' if nested else inner
    if _lone(key) or _lone(value):
        with pytest.raises(ToolArgumentsInvalid, match="lone surrogate"):
            parse_arguments("t", body)
        return
    parsed = parse_arguments("t", body)
    arguments_digest(parsed)  # encodes to UTF-8: raised on a surrogate before the fix
    canonical_json(parsed).encode("utf-8")
