"""Stage execute: every outcome of a tool body becomes data: ok, failed or timed out."""

from __future__ import annotations

import asyncio

from agentkit.errors import ToolArgumentsInvalid
from agentkit.pipeline.execute import ToolOutcome, execute
from agentkit.tool import Tool, ToolOutput


async def echo(text: str) -> dict[str, str]:
    """Echo."""
    return {"text": text}


async def sleepy() -> str:
    """Sleep too long."""
    await asyncio.sleep(5)
    return "late"


async def buggy() -> str:
    """Raise a plain bug."""
    raise KeyError("gone")


async def refusing() -> str:
    """Raise a library error."""
    raise ToolArgumentsInvalid("no such row", tool="refusing")


async def labelled(trust: bool | None) -> ToolOutput:
    """Return a ToolOutput."""
    return ToolOutput(
        content="body",
        untrusted=trust,
        truncated=True,
        citations=["https://a.example"],
        metadata={"cache": "hit"},
    )


async def test_a_plain_value_is_rendered_with_the_tools_trust() -> None:
    outcome = await execute(Tool(echo, untrusted_output=True), {"text": "hi"})
    assert outcome == ToolOutcome("ok", '{"text": "hi"}', True, data={"text": "hi"})


async def test_a_tool_output_carries_its_facts() -> None:
    outcome = await execute(Tool(labelled), {"trust": True})
    assert outcome == ToolOutcome(
        "ok",
        "body",
        True,
        truncated=True,
        citations=("https://a.example",),
        metadata={"cache": "hit"},
    )


async def test_a_tool_output_without_its_own_trust_uses_the_tools() -> None:
    assert (await execute(Tool(labelled, untrusted_output=True), {"trust": None})).untrusted
    assert not (await execute(Tool(labelled), {"trust": None})).untrusted
    assert not (await execute(Tool(labelled, untrusted_output=True), {"trust": False})).untrusted


async def test_a_body_past_its_timeout_is_abandoned() -> None:
    outcome = await execute(Tool(sleepy, timeout=0.05), {})
    assert outcome == ToolOutcome(
        "timed_out",
        "sleepy did not finish within 0.05 s and was abandoned",
        untrusted=False,
        error_type="ToolTimeout",
    )


async def test_a_library_error_is_a_failure_with_its_message() -> None:
    outcome = await execute(Tool(refusing), {})
    assert outcome == ToolOutcome(
        "failed", "refusing failed: no such row", False, error_type="ToolArgumentsInvalid"
    )


async def test_a_bug_in_a_tool_is_a_failure_naming_the_exception() -> None:
    outcome = await execute(Tool(buggy), {})
    assert outcome == ToolOutcome(
        "failed", "buggy failed: KeyError: 'gone'", False, error_type="KeyError"
    )
