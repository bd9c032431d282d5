"""Tools of MCP servers, under the same policy as every other tool.

```python
from agentkit.tools.mcp import MCPServerSpec, MCPToolset

jira = MCPServerSpec.stdio("jira", "jira-mcp", args=["--readonly"])
async with MCPToolset(jira) as toolset:
    agent = Support(tools=toolset.tools)  # named jira.<tool> in the policy
    result = await agent.run("what is open on PROJ?")
```

Each tool of the server becomes an agentkit tool named ``server.tool`` (``server__tool``
on the wire), whose arguments are checked against the server's input schema, whose
calls are parsed, validated, authorised, confirmed, run, labelled and audited like any
other, and whose output is untrusted. Its side-effect class is the policy's
(``tools.<server>.<tool>.side_effect``), else a default read from the server's hints
(`class_from_hints`): a tool without hints is destructive.
"""

from agentkit.errors import MCPServerError, MCPToolChanged
from agentkit.tools.mcp.hints import class_from_hints
from agentkit.tools.mcp.mcp_toolset import MCPServerSpec, MCPToolset

__all__ = [
    "MCPServerError",
    "MCPServerSpec",
    "MCPToolChanged",
    "MCPToolset",
    "class_from_hints",
]
