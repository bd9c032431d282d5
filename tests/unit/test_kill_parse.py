"""Stage parse: a number too large for a float is refused, quoting the start of it; a lone
surrogate is refused however it is written (an escape in either case, or raw)."""

from __future__ import annotations

import pytest

from agentkit.errors import ToolArgumentsInvalid
from agentkit.pipeline.parse import parse_arguments


def test_a_number_too_large_is_refused_quoting_its_first_forty_characters() -> None:
    digits = "9" * 39 + "8" + "7" * 10 + ".5e400"
    with pytest.raises(ToolArgumentsInvalid) as caught:
        parse_arguments("add", '{"x": ' + digits + "}")
    assert str(caught.value) == (
        f"arguments for add are not valid JSON: {digits[:40]} is too large for a number"
    )


@pytest.mark.parametrize(
    "raw",
    [
        '{"to": "\\uD800"}',  # an escape in upper case: JSON reads \\uD800 as \\ud800
        '{"to": "\\uDfFf"}',
        '{"\\uDBFF": 1}',
        '{"to": ["ok", "\udfff"]}',  # the last surrogate, raw in the text itself
        '{"to": "\ud800"}',
    ],
)
def test_a_lone_surrogate_however_written_is_refused_naming_the_tool(raw: str) -> None:
    with pytest.raises(ToolArgumentsInvalid) as caught:
        parse_arguments("send", raw)
    assert str(caught.value) == (
        "arguments for send are not valid Unicode: a string holds a lone surrogate "
        "(an unpaired \\ud800-\\udfff escape)"
    )
    assert caught.value.tool == "send"


def test_a_surrogate_pair_in_upper_case_is_one_character() -> None:
    assert parse_arguments("send", '{"to": "\\uD83D\\uDE00"}') == {"to": "\U0001f600"}
