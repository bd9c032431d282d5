"""Stage parse: the model's arguments string becomes a JSON object, or a tool error."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from agentkit.errors import ToolArgumentsInvalid

MAX_ARGUMENTS_CHARS = 256 * 1024


def parse_arguments(tool: str, raw: str) -> dict[str, Any]:
    """Parse a `function_call` arguments string; an empty string is ``{}``.

    Raises:
        ToolArgumentsInvalid: the string is too long, not JSON (``NaN`` and ``Infinity``
            are not JSON), or not a JSON object.
    """
    if len(raw) > MAX_ARGUMENTS_CHARS:
        raise ToolArgumentsInvalid(
            f"arguments for {tool} are {len(raw)} characters; the limit is {MAX_ARGUMENTS_CHARS}",
            tool=tool,
        )
    try:
        value = json.loads(raw, parse_constant=_refuse_constant) if raw.strip() else {}
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise ToolArgumentsInvalid(
            f"arguments for {tool} are not valid JSON: {exc}", tool=tool
        ) from None
    if not isinstance(value, dict):
        raise ToolArgumentsInvalid(
            f"arguments for {tool} must be a JSON object, got {type(value).__name__}", tool=tool
        )
    return value


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")
