"""The two MCP servers the guarded-call benchmark compares, with the same tool.

``python -m tools.bench.mcp_desk`` is a plain server written with the MCP SDK's server
framework; ``agentkit mcp serve tools.bench.mcp_desk:Desk`` serves the same tool with
agentkit's policy, approvals and audit in front.
"""

from __future__ import annotations

from agentkit import Agent, tool
from agentkit.policy import Policy

POLICY = """
version: 1
tools:
  lookup: {action: allow}
  drop_table: {action: deny}
"""


def _lookup(ticket: int) -> str:
    return f"ticket {ticket}: disk full on db-2"


class Desk(Agent):
    policy = None

    def __init__(self, **kwargs: object) -> None:
        super().__init__(policy=Policy.from_yaml(POLICY), **kwargs)  # type: ignore[arg-type]

    @tool(side_effect="read")
    async def lookup(self, ticket: int) -> str:
        """Read a ticket."""
        return _lookup(ticket)

    @tool(side_effect="destructive")
    async def drop_table(self, name: str) -> str:
        """Drop a table."""
        return "dropped"


def main() -> None:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("desk")

    @server.tool()
    async def lookup(ticket: int) -> str:
        """Read a ticket."""
        return _lookup(ticket)

    server.run("stdio")


if __name__ == "__main__":
    main()
