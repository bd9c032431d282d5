"""HTTP transports for `XAIClient`: the default is httpx2 over aiohttp (`AiohttpTransport`).

aiohttp itself is imported on the first request, not here.
"""

from __future__ import annotations

from agentkit.model.transport.adapter import AiohttpTransport
from agentkit.model.transport.tls import Cert, Verify

__all__ = ["AiohttpTransport", "Cert", "Verify"]
