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
    if _may_hold_surrogates(raw) and _holds_lone_surrogate(value):
        raise ToolArgumentsInvalid(
            f"arguments for {tool} are not valid Unicode: a string holds a lone surrogate "
            "(an unpaired \\ud800-\\udfff escape)",
            tool=tool,
        )
    return value


def _may_hold_surrogates(raw: str) -> bool:
    """Cheap test first: a surrogate comes from a ``\\uD8..``-``\\uDF..`` escape, or is in the
    text itself (the response's own JSON decoded one into it)."""
    if "\\ud" in raw or "\\uD" in raw:
        return True
    return not raw.isascii() and any("\ud800" <= ch <= "\udfff" for ch in raw)


def _holds_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) holds a surrogate: JSON decoding joins every valid
    pair into one character, so one left is unpaired."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any("\ud800" <= ch <= "\udfff" for ch in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text[:40]} is too large for a number")
    return value


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")
