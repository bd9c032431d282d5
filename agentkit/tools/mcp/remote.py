"""xAI's remote MCP tool under the policy: xAI connects to the MCP server and runs its
tools during a model turn (``{"type": "mcp", ...}`` in ``tools``).

Nothing can pause a server-side call for a person (xAI's remote MCP has no
``require_approval``), so only ``allowed_tools`` can restrict it: each request offers the
tools the policy allows outright for the principal now, named ``<label>.<tool>`` in the
policy; a confirm leaves a tool out as a deny does, and an entry left with no tool is not
offered. The URL, label and credentials are the deployment's, never the model's. The
calls come back as ``mcp_call`` items, recorded, decided and audited as server-side steps
with their output untrusted.

```python
jira = xai_mcp("jira", "https://mcp.example.com/jira", tools={"search": "read",
               "create_issue": "write"}, authorization=os.environ["JIRA_MCP_TOKEN"])

class Support(Agent):
    server_tools = [jira]
```
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from agentkit.decision import SIDE_EFFECTS, Decision, SideEffect
from agentkit.errors import ConfigError
from agentkit.tool import NAME_PART

TOOLS_KEY = "agentkit_tools"
"""Where an entry keeps its tools' classes for the policy; never sent."""


def xai_mcp(
    label: str,
    url: str,
    *,
    tools: Mapping[str, SideEffect] | Sequence[str],
    authorization: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A remote MCP entry for an agent's ``server_tools``.

    Args:
        label: the server's name in the policy (its tools are ``<label>.<tool>``).
        url: the server's URL (xAI connects to it).
        tools: the server's tools xAI may run, each with its side-effect class; a list of
            names gives each the class ``destructive`` (then only the policy's confirm or
            deny can apply, so none is ever offered: give the classes).
        authorization: the token xAI sends the server; the deployment's.
        headers: further headers xAI sends the server.

    Raises:
        ConfigError: a label, tool name or class that cannot be named in a policy.
    """
    if not NAME_PART.match(label):
        raise ConfigError(f"remote MCP label {label!r} must match {NAME_PART.pattern}")
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"remote MCP {label!r}: the URL must be http(s)")
    classes = dict(tools) if isinstance(tools, Mapping) else dict.fromkeys(tools, "destructive")
    for name, side_effect in classes.items():
        if not NAME_PART.match(name):
            raise ConfigError(
                f"remote MCP {label!r}: tool name {name!r} must match {NAME_PART.pattern}"
            )
        if side_effect not in SIDE_EFFECTS:
            raise ConfigError(
                f"remote MCP {label}.{name}: side_effect must be one of {SIDE_EFFECTS}"
            )
    entry: dict[str, Any] = {"type": "mcp", "server_label": label, "server_url": url,
                             TOOLS_KEY: classes}  # fmt: skip
    if authorization is not None:
        entry["authorization"] = authorization
    if headers:
        entry["headers"] = dict(headers)
    return entry


def remote_tools(entry: Mapping[str, Any]) -> dict[str, SideEffect]:
    """The policy names (``label.tool``) of an MCP entry's tools, with their classes."""
    label = str(entry.get("server_label"))
    return {f"{label}.{name}": side for name, side in (entry.get(TOOLS_KEY) or {}).items()}


def offered_mcp(
    entry: Mapping[str, Any], decide: Callable[[str, SideEffect], Decision]
) -> tuple[dict[str, Any] | None, dict[str, Decision]]:
    """The entry to send (``allowed_tools``: what the policy allows now), or None when it
    allows none; and each tool's decision, for the calls xAI makes."""
    decisions = {name: decide(name, side) for name, side in remote_tools(entry).items()}
    allowed = [name.split(".", 1)[1] for name, d in decisions.items() if d.action == "allow"]
    if not allowed:
        return None, decisions
    sent = {key: value for key, value in entry.items() if key != TOOLS_KEY}
    sent["allowed_tools"] = allowed
    return sent, decisions


def policy_names(entries: Iterable[Mapping[str, Any]]) -> list[tuple[str, SideEffect]]:
    """Every server-side tool an agent's entries bring, as the policy names them: the
    entry's type (``web_search``), or each tool of a remote MCP entry."""
    names: list[tuple[str, SideEffect]] = []
    for entry in entries:
        if entry.get("type") == "mcp":
            names.extend(remote_tools(entry).items())
        else:
            names.append((str(entry.get("type")), "read"))
    return names
