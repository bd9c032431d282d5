"""Request limits the xAI API enforces, checked before a request leaves the process.

A request over a limit would come back as a 400 after a round trip (and a retry loop
could not fix it); refusing it here names the limit and costs nothing. The limits are
data: `MAX_TOOLS` is the OpenAPI `maxItems` of `tools` on both `/v1/responses` and
`/v1/chat/completions` (xai-sdk-ts `spec/openapi.json`).
"""

from __future__ import annotations

from agentkit.errors import ConfigError
from agentkit.model.types import ModelRequest

MAX_TOOLS = 350
"""Tool entries (function and server-side tools together) one request may carry."""


def check_request_limits(request: ModelRequest, *, max_tools: int = MAX_TOOLS) -> None:
    """Raise `ConfigError` when `request` passes a limit the API would refuse it for."""
    count = len(request.tools)
    if count > max_tools:
        raise ConfigError(
            f"a request to {request.model!r} carries {count} tools; the xAI API accepts at "
            f"most {max_tools} per request (function and server-side tools together): "
            "offer fewer tools, or split the agent"
        )
