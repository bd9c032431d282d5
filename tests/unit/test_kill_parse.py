"""Stage parse: a number too large for a float is refused, quoting the start of it."""

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
