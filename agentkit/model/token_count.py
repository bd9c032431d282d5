"""A request's input tokens as the model's own tokenizer counts them (``/v1/tokenize-text``).

The router decides on input size; a local estimate (about four characters a token) is
free and usually enough. Where a rule's bound is near, `TokenizeCounter` asks the API:

```python
counter = TokenizeCounter()  # XAI_API_KEY from the environment
client = RoutedClient(XAIClient(), Router.from_yaml("router.yaml", counter=counter))
```

Counts are kept per text digest (least recently used first out), so a conversation that
grows by one message a turn pays for the new text, not the whole history, again: the
request's text is counted in pieces (instructions, then each input item).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from typing import Any, Protocol

import httpx2

from agentkit.errors import ModelError
from agentkit.model.rest import RestClient, Sleep, api_key_from
from agentkit.model.types import ModelRequest

API_URL = "https://api.x.ai/v1"
KEPT_COUNTS = 4096


class TokenizeError(ModelError):
    """``/v1/tokenize-text`` failed or answered something that is not a token list."""


class TokenCounter(Protocol):
    """Counts the input tokens of a request for its model."""

    async def count(self, request: ModelRequest) -> int: ...


def request_texts(request: ModelRequest) -> list[str]:
    """The pieces of text a request's input is made of: its instructions, then each input
    item (a message's text, a tool output, a call's arguments) as JSON."""
    texts = [request.instructions] if request.instructions else []
    for item in request.input:
        texts.append(item if isinstance(item, str) else _dumps(item))
    if request.tools:
        texts.append(_dumps(request.tools))
    return texts


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class TokenizeCounter:
    """Counts with ``POST /v1/tokenize-text {text, model}`` (one request per new piece)."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str = API_URL,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        kept: int = KEPT_COUNTS,
    ) -> None:
        key = api_key_from(api_key)
        self._rest = RestClient(base_url, key, error=TokenizeError, transport=transport,
                                sleep=sleep)  # fmt: skip
        self._kept: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._limit = kept
        self.requests = 0
        """Requests sent to the API so far."""

    def __repr__(self) -> str:
        return f"TokenizeCounter(base_url={self._rest.base!r})"

    async def aclose(self) -> None:
        await self._rest.aclose()

    async def count(self, request: ModelRequest) -> int:
        """The request's input tokens (its pieces counted apart, so a few more than the
        whole would be: joins are not merged)."""
        total = 0
        for text in request_texts(request):
            total += await self.count_text(text, request.model)
        return total

    async def count_text(self, text: str, model: str) -> int:
        """Tokens of one text for ``model``."""
        if not text:
            return 0
        key = (model, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
        if (known := self._kept.get(key)) is not None:
            self._kept.move_to_end(key)
            return known
        self.requests += 1
        answer = await self._rest.call("POST", "/tokenize-text", create=False, ok=(200,),
                                       json={"text": text, "model": model})  # fmt: skip
        ids = answer.body.get("token_ids")
        if not isinstance(ids, list):
            raise TokenizeError("/v1/tokenize-text answered without a token_ids list",
                                request_id=answer.request_id)  # fmt: skip
        self._kept[key] = len(ids)
        while len(self._kept) > self._limit:
            self._kept.popitem(last=False)
        return len(ids)
