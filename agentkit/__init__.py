"""agentkit: tool-using agents on the xAI Responses API, with a safety layer you can audit.

The public API is re-exported here and imported on first use, so `import agentkit`
stays light (docker, SQLAlchemy and the HTTP stack load only when needed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# `agentkit.tool` is both a submodule and the decorator: import the module first so the
# package attribute ends up the decorator, whatever imports the submodule later.
from agentkit.tool import Tool, ToolOutput, tool

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Agent": "agentkit.agent",
    "RunConfig": "agentkit.pipeline.run_config",
    "RunLimits": "agentkit.run_limits",
    "Runner": "agentkit.pipeline.runner",
    "RunResult": "agentkit.state",
    "Step": "agentkit.state",
    "PendingApproval": "agentkit.state",
    "Principal": "agentkit.decision",
    "Decision": "agentkit.decision",
    "ToolInfo": "agentkit.decision",
    "History": "agentkit.decision",
    "ApprovalDecision": "agentkit.pipeline.confirm",
    "CallbackApprover": "agentkit.approvers",
    "TerminalApprover": "agentkit.approvers",
    "ApprovalStore": "agentkit.approval_store",
    "XAIClient": "agentkit.model",
    "Policy": "agentkit.policy",
    "load_policy": "agentkit.policy",
    "AuditLog": "agentkit.audit",
    "JsonlSink": "agentkit.audit",
    "verify_file": "agentkit.audit",
    "print_transcript": "agentkit.transcript",
    "RetryPolicy": "agentkit.model",
    "Timeouts": "agentkit.model",
    "SqlSink": "agentkit.audit",
    "NullAudit": "agentkit.audit",
    "Redactor": "agentkit.audit",
    "capture_audit": "agentkit.audit",
    "DockerSandbox": "agentkit.sandbox.docker_sandbox",
    "SandboxConfig": "agentkit.sandbox.config",
    "Execution": "agentkit.sandbox.execution",
    "python_tool": "agentkit.tools.python",
    "database_tools": "agentkit.tools.database",
    "Database": "agentkit.tools.database",
    "web_search": "agentkit.tools.search",
    "x_search": "agentkit.tools.search",
    "server_search_tools": "agentkit.tools.search",
    "web_search_tool": "agentkit.tools.search",
    "SearxngBackend": "agentkit.tools.search",
    "FakeXAI": "agentkit.testing",
    "Script": "agentkit.testing",
    "Turn": "agentkit.testing",
}

__all__ = [
    "Agent",
    "ApprovalDecision",
    "ApprovalStore",
    "AuditLog",
    "CallbackApprover",
    "Database",
    "Decision",
    "DockerSandbox",
    "Execution",
    "FakeXAI",
    "History",
    "JsonlSink",
    "NullAudit",
    "PendingApproval",
    "Policy",
    "Principal",
    "Redactor",
    "RetryPolicy",
    "RunConfig",
    "RunLimits",
    "RunResult",
    "Runner",
    "SandboxConfig",
    "Script",
    "SearxngBackend",
    "SqlSink",
    "Step",
    "TerminalApprover",
    "Timeouts",
    "Tool",
    "ToolInfo",
    "ToolOutput",
    "Turn",
    "XAIClient",
    "capture_audit",
    "database_tools",
    "load_policy",
    "print_transcript",
    "python_tool",
    "server_search_tools",
    "tool",
    "verify_file",
    "web_search",
    "web_search_tool",
    "x_search",
]

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.approval_store import ApprovalStore
    from agentkit.approvers import CallbackApprover, TerminalApprover
    from agentkit.decision import Decision, History, Principal, ToolInfo
    from agentkit.pipeline.confirm import ApprovalDecision
    from agentkit.pipeline.run_config import RunConfig
    from agentkit.pipeline.runner import Runner
    from agentkit.run_limits import RunLimits
    from agentkit.state import PendingApproval, RunResult, Step
    from agentkit.transcript import print_transcript


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
