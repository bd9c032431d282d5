"""Stage execute: run a tool body with its timeout; every outcome becomes data, never an escape."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from agentkit.errors import AgentkitError
from agentkit.tool import Tool, ToolOutput, output_structure, render_output

logger = logging.getLogger(__name__)

Outcome = Literal["ok", "failed", "timed_out"]
DEFAULT_STRUCTURE_CAP = 64_000
"""Characters of an output's JSON up to which the runner keeps its structure beside the text."""


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What one tool body produced, before labelling."""

    outcome: Outcome
    text: str
    """The output text, or the error message for the model."""
    untrusted: bool
    truncated: bool = False
    citations: tuple[str, ...] = ()
    error_type: str | None = None
    """The exception class name when the body failed (``ToolTimeout`` when it timed out)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Facts about the output (a search's cache hit or miss, a query's tables), audited."""
    data: Any = None
    """The output's structure as plain JSON (a dict, list or model the tool returned, read
    back from `text`); None for text, for an error, and for a structure over the cap."""


async def execute(
    tool: Tool, arguments: dict[str, Any], *, structure_cap: int = DEFAULT_STRUCTURE_CAP
) -> ToolOutcome:
    """Run `tool` with validated `arguments`, bounded by the tool's timeout.

    A structure whose JSON is longer than `structure_cap` characters is kept as text only.
    """
    try:
        value = await asyncio.wait_for(tool.invoke(arguments), timeout=tool.timeout)
    except TimeoutError:
        return ToolOutcome(
            "timed_out",
            f"{tool.name} did not finish within {tool.timeout:g} s and was abandoned",
            untrusted=False,
            error_type="ToolTimeout",
        )
    except AgentkitError as exc:
        return ToolOutcome(
            "failed", f"{tool.name} failed: {exc}", False, error_type=type(exc).__name__
        )
    except Exception as exc:  # a tool's bug must reach the model as a tool error, not crash the run
        logger.debug("tool %s raised", tool.name, exc_info=True)
        return ToolOutcome(
            "failed",
            f"{tool.name} failed: {type(exc).__name__}: {exc}",
            False,
            error_type=type(exc).__name__,
        )
    if isinstance(value, ToolOutput):
        untrusted = tool.untrusted_output if value.untrusted is None else value.untrusted
        text = render_output(value.content)
        return ToolOutcome(
            "ok",
            text,
            untrusted or tool.always_untrusted,  # an authoriser's mark: no output lifts it
            truncated=value.truncated,
            citations=tuple(value.citations),
            metadata=dict(value.metadata),
            data=_kept(value.content, text, structure_cap),
        )
    text = render_output(value)
    return ToolOutcome("ok", text, tool.untrusted_output, data=_kept(value, text, structure_cap))


def _kept(value: Any, text: str, cap: int) -> Any:
    return output_structure(value, text) if len(text) <= cap else None
