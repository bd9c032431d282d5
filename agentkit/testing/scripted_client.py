"""A model client that answers from a script, through the real `XAIClient` code.

Only the network is fake: requests are built, sent, retried and parsed exactly as
against api.x.ai, and answered in-process by a `FakeXAI`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agentkit.model.client import XAIClient
from agentkit.testing.fake import FakeXAI
from agentkit.testing.script import Script, Turn

TEST_API_KEY = "test-key-123456"
"""The key scripted clients send: long enough to look real, never a real one."""

ScriptSource = FakeXAI | Script | Iterable[Turn] | Callable[[dict[str, Any]], Turn] | None


def scripted_client(
    script: ScriptSource = None, *, api_key: str = TEST_API_KEY, **options: Any
) -> XAIClient:
    """An `XAIClient` whose requests are answered in-process by a fake xAI.

    Args:
        script: the turns to answer with (a `Script`, a list of turns, or a function of
            the request body), or a `FakeXAI` to inspect afterwards; None is the fake's
            built-in test model.
        api_key: the key the client sends.
        **options: further `XAIClient` arguments (``endpoint``, ``retry``, ``usage_sink``...).

    Example:
        >>> import asyncio
        >>> from agentkit.model import ModelRequest
        >>> fake = FakeXAI(Script([Turn.text("hello")]))
        >>> ask = ModelRequest(model="grok-4", input=[{"role": "user", "content": "hi"}])
        >>> asyncio.run(scripted_client(fake).respond(ask)).text
        'hello'
        >>> fake.count("/v1/responses")
        1
    """
    return XAIClient(api_key=api_key, transport=_fake(script).transport(), **options)


def _fake(script: ScriptSource) -> FakeXAI:
    if isinstance(script, FakeXAI):
        return script
    if script is None or isinstance(script, Script) or callable(script):
        return FakeXAI(script)
    return FakeXAI(Script(script))
