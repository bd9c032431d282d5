"""A tool's bug is logged with its traceback for the developer, and reaches the model as data."""

from __future__ import annotations

import logging

import pytest

from agentkit.pipeline.execute import execute
from agentkit.tool import Tool


async def buggy() -> str:
    """Raise a plain bug."""
    raise KeyError("gone")


async def test_a_bug_in_a_tool_is_logged_at_debug_with_the_tool_name_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="agentkit.pipeline.execute"):
        outcome = await execute(Tool(buggy), {})
    assert outcome.outcome == "failed"
    (entry,) = [r for r in caplog.records if r.name == "agentkit.pipeline.execute"]
    assert entry.levelno == logging.DEBUG
    assert entry.getMessage() == "tool buggy raised"
    assert entry.exc_info is not None
    assert entry.exc_info[0] is KeyError
