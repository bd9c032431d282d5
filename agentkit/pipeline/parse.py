"""Stage parse: the model's arguments string becomes a JSON object, or a tool error."""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

from agentkit.errors import ToolArgumentsInvalid

MAX_ARGUMENTS_CHARS = 256 * 1024


def parse_arguments(tool: str, raw: str) -> dict[str, Any]:
    """Parse a `function_call` arguments string; an empty string is ``{}``.

    Raises:
        ToolArgumentsInvalid: the string is too long, not JSON (``NaN`` and ``Infinity``
            are not JSON; a number too large for a float, or an integer of more than 4300
            digits, is refused too), or not a JSON object.
    """
    if len(raw) > MAX_ARGUMENTS_CHARS:
        raise ToolArgumentsInvalid(
            f"arguments for {tool} are {len(raw)} characters; the limit is {MAX_ARGUMENTS_CHARS}",
            tool=tool,
        )
    try:
        value = (
            json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
            if raw.strip()
            else {}
        )
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise ToolArgumentsInvalid(
            f"arguments for {tool} are not valid JSON: {exc}", tool=tool
        ) from None
    if not isinstance(value, dict):
        raise ToolArgumentsInvalid(
            f"arguments for {tool} must be a JSON object, got {type(value).__name__}", tool=tool
        )
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text[:40]} is too large for a number")
    return value


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")
