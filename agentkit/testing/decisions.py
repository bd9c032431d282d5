"""Policy decisions in a line: a proposed call, a call already made, a decision on them.

For testing a policy file: what it decides for a principal and a call, given history.
"""

from __future__ import annotations

from typing import Any

from agentkit.decision import (
    Authoriser,
    Decision,
    History,
    PastCall,
    Principal,
    ProposedCall,
    SideEffect,
    ToolInfo,
)


def proposed_call(tool: str, side_effect: SideEffect = "read", **arguments: Any) -> ProposedCall:
    """A call the model proposes, of ``tool`` with ``arguments``."""
    return ProposedCall(
        call_id="c", tool=ToolInfo(name=tool, side_effect=side_effect), arguments=arguments
    )


def past_call(
    tool: str,
    side_effect: SideEffect = "read",
    *,
    untrusted: bool = False,
    output: str = "",
    executed: bool = True,
    **arguments: Any,
) -> PastCall:
    """A call earlier in the run: allowed, and executed unless ``executed=False``."""
    return PastCall(
        call_id=f"p-{tool}",
        tool=tool,
        side_effect=side_effect,
        arguments=arguments,
        action="allow",
        executed=executed,
        untrusted_output=untrusted,
        output=output,
    )


def decide(policy: Authoriser, proposed: ProposedCall, *roles: str, **history: Any) -> Decision:
    """What ``policy`` decides for user ``u1`` with ``roles``; ``history`` builds a `History`.

    Example:
        >>> from agentkit.policy import Policy
        >>> policy = Policy.from_yaml("version: 1\\ntools: {a: {action: allow}}")
        >>> decide(policy, proposed_call("a")).action
        'allow'
        >>> decide(policy, proposed_call("b")).rule
        'default-deny'
    """
    return policy.decide(Principal(user_id="u1", roles=roles), proposed, History(**history))
