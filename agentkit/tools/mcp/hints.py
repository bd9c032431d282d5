"""A side-effect class from an MCP tool's annotations: a default the policy replaces.

MCP's hints are the server's word, not a guarantee, so they only set where the policy is
silent, and they err towards caution as the protocol does: ``destructiveHint`` defaults
to true for a tool that is not read-only, so a tool with no hints at all is destructive
(a person confirms it) until the policy names its class.
"""

from __future__ import annotations

from typing import Any

from agentkit.decision import SideEffect


def class_from_hints(annotations: Any) -> SideEffect:
    """``read`` for a read-only tool; ``destructive`` unless the server says it is not;
    else ``external_send`` for a tool that reaches an open world, ``write`` otherwise."""
    if annotations is None:
        return "destructive"
    if getattr(annotations, "read_only_hint", None) is True:
        return "read"
    if getattr(annotations, "destructive_hint", None) is not False:
        return "destructive"
    if getattr(annotations, "open_world_hint", None) is not False:
        return "external_send"
    return "write"
