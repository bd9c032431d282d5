"""The xAI model client: `/v1/responses` and `/v1/chat/completions` over httpx2.

Example:
    >>> from agentkit.model import XAIClient, ModelRequest
    >>> async def main() -> None:  # doctest: +SKIP
    ...     async with XAIClient() as client:
    ...         answer = await client.respond(
    ...             ModelRequest(model="grok-4", input=[{"role": "user", "content": "Hi"}]))
    ...         print(answer.text, answer.usage.cost_usd)
"""

from __future__ import annotations

from agentkit.errors import ResponseFailed
from agentkit.model.capabilities import CapabilityTable, ModelCapabilities
from agentkit.model.client import XAIClient
from agentkit.model.pricing import Price, PriceTable
from agentkit.model.retry import RetryPolicy, Timeouts
from agentkit.model.types import (
    Citation,
    Endpoint,
    FunctionCall,
    Item,
    ModelClient,
    ModelRequest,
    ModelResponse,
    ServerToolCall,
    Usage,
    UsageSink,
)

__all__ = [
    "CapabilityTable",
    "Citation",
    "Endpoint",
    "FunctionCall",
    "Item",
    "ModelCapabilities",
    "ModelClient",
    "ModelRequest",
    "ModelResponse",
    "Price",
    "PriceTable",
    "ResponseFailed",
    "RetryPolicy",
    "ServerToolCall",
    "Timeouts",
    "Usage",
    "UsageSink",
    "XAIClient",
]
