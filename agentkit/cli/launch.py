"""Building the agent a CLI command runs: the same one for `agentkit run` and `resume`.

A paused run is continued by another process, so everything `agentkit run` was told is
kept (`saved_runs.SavedCommand`) and replayed here: the agent class, the model, online or
offline, the principal. The run's state lives in the approvals store, sealed.
"""

from __future__ import annotations

import importlib
import os
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from agentkit.cli.saved_runs import SavedCommand
from agentkit.errors import ConfigError

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.approval_store import ApprovalStore
    from agentkit.audit.chain import AuditRecorder
    from agentkit.decision import Principal

OFFLINE_KEY = "offline"
"""The API key the offline client sends: the fake server accepts any."""


def load_agent_class(target: str, workdir: str | None = None) -> type[Agent]:
    """The `Agent` subclass named ``MODULE:Class``, imported as `python -m` would.

    Raises:
        ConfigError: `target` is malformed, cannot be imported, or is not an Agent subclass.
    """
    from agentkit.agent import Agent

    module_name, _, class_name = target.partition(":")
    if not module_name or not class_name:
        raise ConfigError(f"expected MODULE:Class, got {target!r}")
    for folder in {workdir or os.getcwd(), os.getcwd()}:
        if folder not in sys.path:
            sys.path.insert(0, folder)  # the modules of the project at hand
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import {module_name!r}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Agent)):
        raise ConfigError(f"{target!r} is not an Agent subclass")
    return cls


@dataclass
class Launched:
    """An agent ready to run, and how it talks to a model (for the transcript's header)."""

    agent: Agent
    mode: str


def launch(
    command: SavedCommand,
    stack: ExitStack,
    *,
    store: ApprovalStore,
    audit: AuditRecorder | None,
    notices: TextIO,
) -> Launched:
    """Build `command`'s agent; an offline server lives as long as `stack`.

    Raises:
        ConfigError: the agent class cannot be loaded, or the script cannot be read.
    """
    from agentkit.model import XAIClient

    cls = load_agent_class(command.target, command.workdir)
    if command.offline:
        script = command.script or getattr(cls, "offline_script", None)
        base_url = stack.enter_context(_offline_server(script))
        key = (
            "XAI_API_KEY is set but not used"
            if os.environ.get("XAI_API_KEY")
            else ("no XAI_API_KEY")
        )
        notices.write(
            f"agentkit: offline ({key}): the scripted fake xAI server at {base_url} answers\n"
        )
        client = XAIClient(api_key=OFFLINE_KEY, base_url=base_url)
        mode = "offline"
    else:
        client = XAIClient(base_url=command.base_url) if command.base_url else XAIClient()
        mode = "online"
    agent = cls(
        client=client,
        model=command.model,
        principal=principal_of(command),
        approvals=store,
        audit=audit,
    )
    return Launched(agent, mode)


def open_audit(target: str | None, stack: ExitStack) -> AuditRecorder:
    """The audit log at `target` (a JSONL path or a database URL), closed with `stack`; the
    process's default log when `target` is None."""
    if target is None:
        from agentkit.audit.default_log import default_audit_log

        return default_audit_log()
    from agentkit.audit import AuditLog, open_sink

    if "://" not in target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    return stack.enter_context(AuditLog(open_sink(target)))


def principal_of(command: SavedCommand) -> Principal:
    """The person the run is for, as `agentkit run --user/--role` named them."""
    from agentkit.decision import Principal

    return Principal(user_id=command.user, roles=tuple(command.roles))


async def close(agent: Agent) -> None:
    """Release what a CLI run opened: the model client, sandbox containers."""
    from agentkit.tools.python import close_python_tool

    try:
        await agent.client.aclose()
    finally:
        for tool in agent.tool_list:
            await close_python_tool(tool)


def _offline_server(script: Any) -> Any:
    """The fake xAI server on loopback; `script` is a Script, a file path, or None."""
    from agentkit.testing import FakeXAI, Script, serve_in_thread

    if isinstance(script, str | Path):
        script = Script.load(script)
    return _BaseURL(serve_in_thread(FakeXAI(script)))


class _BaseURL:
    """Adapts serve_in_thread's context manager to yield only the base URL."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __enter__(self) -> str:
        return str(self._inner.__enter__().base_url)

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)
