"""Declarative YAML policies: who may call which tool, with which arguments, how often.

Example:
    >>> from agentkit.policy import load_policy
    >>> policy = load_policy("agentkit:ops_copilot")  # doctest: +SKIP
    >>> policy.decide(principal, call, history)  # doctest: +SKIP
    Decision(action='confirm', reason='...', rule='tools.close_ticket')
"""

from __future__ import annotations

from agentkit.decision import ToolOverrides
from agentkit.policy.loader import PolicyInvalid
from agentkit.policy.policy import Policy, load_policy
from agentkit.policy.spec import (
    PolicyFile,
    RunLimitsSpec,
    policy_json_schema,
    policy_json_schema_text,
)

__all__ = [
    "Policy",
    "PolicyFile",
    "PolicyInvalid",
    "RunLimitsSpec",
    "ToolOverrides",
    "load_policy",
    "policy_json_schema",
    "policy_json_schema_text",
]
