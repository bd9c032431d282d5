"""Stage validate: a parsed call becomes a `ValidCall` for a tool the agent has, or a rejection."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from agentkit.errors import ToolArgumentsInvalid
from agentkit.pipeline.parse import parse_arguments
from agentkit.tool import Tool


@dataclass(frozen=True, slots=True)
class ValidCall:
    """A call whose tool exists and whose arguments parsed and match its strict schema."""

    tool: Tool
    data: dict[str, Any]
    """The arguments as plain JSON data, checked against the schema: what the policy decides
    on, an approval is bound to, the audit records and the run state keeps."""
    arguments: dict[str, Any]
    """The arguments as the tool body receives them (pydantic models built, types coerced)."""

    @classmethod
    def again(cls, tool: Tool, data: dict[str, Any]) -> ValidCall:
        """The call rebuilt from its stored data (after a resume).

        Raises:
            ToolArgumentsInvalid: the data no longer fits the tool's schema.
        """
        return cls(tool, data, tool.validate(data))


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why a call cannot reach authorisation; the message goes back to the model."""

    status: Literal["invalid", "unknown_tool"]
    error: str
    parsed: dict[str, Any] | None = None
    """The arguments when they parsed as a JSON object but broke the schema."""


def validate_call(
    tools: Mapping[str, Tool],
    name: str,
    raw_arguments: str,
    restore: Callable[[Any], Any] | None = None,
) -> ValidCall | Rejected:
    """Parse and check one `function_call`; never raises for anything the model sent.
    `restore` puts redacted values back into the arguments before they are checked."""
    tool = tools.get(name)
    if tool is None:
        return Rejected("unknown_tool", f"there is no tool named {name!r}")
    parsed: dict[str, Any] | None = None
    try:
        parsed = parse_arguments(tool.name, raw_arguments)
        if restore is not None:
            parsed = restore(parsed)
        arguments = tool.validate(parsed)
    except ToolArgumentsInvalid as exc:
        return Rejected("invalid", str(exc), parsed)
    return ValidCall(tool, parsed, arguments)


def feedback(rejection: Rejected) -> str:
    """The tool output the model receives for a rejected call."""
    return f"Error: {rejection.error}. Correct the call and try again."
