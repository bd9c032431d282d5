"""The fake's prompt cache: a request that names a cache (``prompt_cache_key`` on Responses,
the ``x-grok-conv-id`` header on Chat) is answered from the prefix it shares with the last
request under that name to the same model, and its usage reports those tokens as cached.

Like xAI's, the cache is only as good as the history is append-only: an edited or reordered
earlier message ends the shared prefix there. Tokens are counted per whole prompt part
(instructions, tools, then each input item or message), about four characters a token.
Cached tokens still count as input tokens (and, on the real API, against the TPM limit).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from agentkit.testing.fake_usage import count_tokens

MAX_KEYS = 10_000
"""Caches kept; the least recently used goes first."""


def prompt_parts(body: dict[str, Any], endpoint: str) -> list[str]:
    """The parts of a request's prompt a cache matches, in order, as JSON."""
    if endpoint == "chat":
        items = body.get("messages")
        head: list[Any] = [body.get("tools")]
    else:
        items = body.get("input")
        head = [body.get("instructions"), body.get("tools")]
    if isinstance(items, str):
        items = [items]
    listed = items if isinstance(items, list) else []
    return [json.dumps(part, sort_keys=True, separators=(",", ":")) for part in [*head, *listed]]


def cache_name(body: dict[str, Any], headers: dict[str, str], endpoint: str) -> str | None:
    """The cache a request names, or None."""
    if endpoint == "chat":
        return headers.get("x-grok-conv-id") or None
    key = body.get("prompt_cache_key")
    return key if isinstance(key, str) and key else None


class PromptCache:
    """Per cache name and model: the prompt parts of the last request."""

    def __init__(self) -> None:
        self._last: OrderedDict[tuple[str, str], list[str]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        """Requests that found some of their prompt cached."""

    def cached_tokens(
        self, body: dict[str, Any], headers: dict[str, str], endpoint: str, input_tokens: int
    ) -> int:
        """Tokens of this request's prompt the cache holds (at most ``input_tokens``); the
        request's own prompt becomes what the next one under its name is matched against."""
        name = cache_name(body, headers, endpoint)
        if name is None:
            return 0
        parts = prompt_parts(body, endpoint)
        key = (name, str(body.get("model", "")))
        with self._lock:
            previous = self._last.pop(key, [])
            self._last[key] = parts
            while len(self._last) > MAX_KEYS:
                self._last.popitem(last=False)
            shared = 0
            for old, new in zip(previous, parts, strict=False):
                if old != new:
                    break
                shared += count_tokens(new)
            if shared:
                self.hits += 1
        return min(shared, input_tokens)
