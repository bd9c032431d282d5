"""Chat Completions bodies: the completion object and its streamed chunks.

Tool calls arrive whole in one chunk (as xAI sends them); usage comes in a last chunk
with ``choices: []`` when ``stream_options.include_usage`` is set; the stream ends with
``data: [DONE]``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from agentkit.testing.fake_usage import Tokens
from agentkit.testing.script import Turn
from agentkit.testing.wire import cited_text, dumps, new_call_id

FINGERPRINT = "fp_fakexai01"


def split_text(text: str, size: int = 24) -> list[str]:
    """Split ``text`` into stream deltas of about ``size`` characters, at spaces if possible."""
    pieces: list[str] = []
    while text:
        cut = text.rfind(" ", 1, size) + 1 if len(text) > size else len(text)
        cut = cut if cut > 0 else size
        pieces.append(text[:cut])
        text = text[cut:]
    return pieces


def chat_message(turn: Turn, arguments: list[str]) -> dict[str, Any]:
    """The assistant message of ``turn``; ``content`` is ``""`` alongside tool calls."""
    text, _ = cited_text(turn.answer or "", turn.search_call)
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if turn.reasoning:
        message["reasoning_content"] = turn.reasoning
    if turn.function_calls:
        message["tool_calls"] = [
            {
                "id": new_call_id(),
                "type": "function",
                "function": {"name": call.name, "arguments": args},
            }
            for call, args in zip(turn.function_calls, arguments, strict=True)
        ]
    return message


def completion(
    completion_id: str, model: str, message: dict[str, Any], tokens: Tokens, turn: Turn
) -> dict[str, Any]:
    """A whole ``chat.completion`` object."""
    finish = finish_reason(message, incomplete=bool(turn.incomplete))
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": tokens.chat_usage(),
        "system_fingerprint": FINGERPRINT,
    }
    if turn.search_call is not None:
        body["citations"] = [r.url for r in turn.search_call.results]
    return body


def finish_reason(message: dict[str, Any], *, incomplete: bool = False) -> str:
    """``length`` when the answer stopped short, ``tool_calls`` when the message calls tools,
    else ``stop``."""
    if incomplete:
        return "length"
    return "tool_calls" if message.get("tool_calls") else "stop"


def chunk_events(
    completion_id: str,
    model: str,
    message: dict[str, Any],
    tokens: Tokens,
    include_usage: bool,
    *,
    incomplete: bool = False,
) -> Iterator[bytes]:
    """The SSE ``data:`` lines of a streamed completion, ending with ``[DONE]``."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _data(_chunk_body(completion_id, created, model, [choice]))

    yield chunk({"role": "assistant", "content": ""})
    if message.get("reasoning_content"):
        for piece in split_text(message["reasoning_content"]):
            yield chunk({"role": "assistant", "reasoning_content": piece})
    for piece in split_text(message.get("content") or ""):
        yield chunk({"role": "assistant", "content": piece})
    if message.get("tool_calls"):
        calls = [dict(call, index=i) for i, call in enumerate(message["tool_calls"])]
        yield chunk({"role": "assistant", "content": "", "tool_calls": calls})
    yield chunk({}, finish_reason(message, incomplete=incomplete))
    if include_usage:
        body = _chunk_body(completion_id, created, model, [])
        body["usage"] = tokens.chat_usage()
        yield _data(body)
    yield b"data: [DONE]\n\n"


def _chunk_body(
    completion_id: str, created: int, model: str, choices: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
        "system_fingerprint": FINGERPRINT,
    }


def _data(body: dict[str, Any]) -> bytes:
    return b"data: " + dumps(body) + b"\n\n"
