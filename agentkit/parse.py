"""Stage 1: the model's arguments string becomes a JSON object, or a tool error."""

from __future__ import annotations

import json
from typing import Any

from agentkit.errors import ToolArgumentsInvalid

MAX_ARGUMENTS_CHARS = 256 * 1024


def parse_arguments(tool: str, raw: str) -> dict[str, Any]:
    """Parse a `function_call` arguments string.

    Raises:
        ToolArgumentsInvalid: the string is too long, not JSON, or not a JSON object.
    """
    if len(raw) > MAX_ARGUMENTS_CHARS:
        raise ToolArgumentsInvalid(
            f"arguments for {tool} are {len(raw)} characters; the limit is {MAX_ARGUMENTS_CHARS}",
            tool=tool,
        )
    try:
        value = json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ToolArgumentsInvalid(
            f"arguments for {tool} are not valid JSON: {exc}", tool=tool
        ) from None
    if not isinstance(value, dict):
        raise ToolArgumentsInvalid(
            f"arguments for {tool} must be a JSON object, got {type(value).__name__}", tool=tool
        )
    return value
