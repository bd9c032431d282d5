"""agentkit's guarded tools for other MCP clients (extra ``[mcp]``): `agentkit mcp serve`.

`GuardedTools` makes each MCP call a run of that one call through the agent's pipeline
(policy, approvals, audit); `serve_stdio` and `http_app` put it behind the MCP SDK's
server, the principal coming from the transport.
"""

from agentkit.mcp_server.call_history import CallHistory
from agentkit.mcp_server.guarded import CallAnswer, GuardedTools, ListedTool
from agentkit.mcp_server.transports import Authenticated, http_app, mcp_server, serve_stdio

__all__ = [
    "Authenticated",
    "CallAnswer",
    "CallHistory",
    "GuardedTools",
    "ListedTool",
    "http_app",
    "mcp_server",
    "serve_stdio",
]
