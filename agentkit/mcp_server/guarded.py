"""An agent's tools for MCP clients: each call goes through the agent's pipeline.

A call an MCP client makes is a run of that one call (`Agent.call_tool`): validated,
decided by the agent's policy for the caller's principal, confirmed, run, labelled and
audited, as a model's call would be. The client gets the output, or an error result that
says why not:

- a denied, invalid or failed call: the policy's (or the tool's) reason, ``isError``;
- a call that needs a person: the approval id, ``isError``, and nothing run. The paused
  run is kept in the approvals store, where a person decides it (`agentkit approvals`, the
  service's approval page); the client then makes the same call again, with the same
  arguments, and the decided run goes on: the call runs once if approved, and never if
  declined. Until then the same call answers with the same approval id.

Each result's ``structuredContent`` says the same for programs: ``status``, ``run_id``
and, while it waits, ``approval_id``.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentkit.canonical import canonical_json
from agentkit.errors import AgentkitError
from agentkit.mcp_server.call_history import CallHistory
from agentkit.state import RunResult
from agentkit.tool import Tool

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.approval_store import ApprovalStore
    from agentkit.decision import Principal

CALLED_BY = "mcp"
"""How the audit names a run made by an MCP client (``run.started``'s ``called_by``)."""


@dataclass(frozen=True, slots=True)
class CallAnswer:
    """What one MCP call comes back with: the text, whether it is an error, and the same
    for programs (``structuredContent``)."""

    text: str
    is_error: bool
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ListedTool:
    """One tool as an MCP client sees it: name, description, input schema and the hints
    its side-effect class gives (the policy decides each call either way)."""

    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool
    destructive: bool
    open_world: bool


class GuardedTools:
    """`agent`'s tools served under its policy, approvals and audit.

    Args:
        agent: the agent whose tools, policy and audit log serve every call. Give it the
            approvals store as its ledger (``Agent(approvals=store)``), so an approval is
            used once across every process sharing the store.
        store: where calls waiting for a person are kept and decided.
    """

    def __init__(
        self, agent: Agent, store: ApprovalStore, *, history: CallHistory | None = None
    ) -> None:
        self.agent = agent
        self.store = store
        self.history = history or CallHistory()
        """The recent calls of each principal that decisions on the next one see."""
        self._tools = agent.runner.tools  # with the policy's overrides, as calls see them
        self._locks: weakref.WeakValueDictionary[tuple[Principal, str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def listed(self) -> list[ListedTool]:
        """The agent's own tools (xAI's server-side tools run at xAI, and are not served)."""
        return [_listed(tool) for tool in self._tools.values()]

    async def call(
        self, principal: Principal, name: str, arguments: Mapping[str, Any] | None
    ) -> CallAnswer:
        """Make one client call for `principal`; every refusal is an answer, never raised."""
        given = dict(arguments or {})
        try:
            wanted: str | None = canonical_json(given)
        except ValueError:  # NaN, a lone surrogate: the pipeline records it as invalid
            wanted = None
        key = (principal, name, wanted or "")
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:  # the same call twice at once: one approval request, not two
            try:
                return await self._call(principal, name, given, wanted)
            except AgentkitError as exc:
                return CallAnswer(
                    f"{type(exc).__name__}: {exc}",
                    True,
                    {"status": "failed", "error": type(exc).__name__},
                )

    async def _call(
        self, principal: Principal, name: str, given: dict[str, Any], wanted: str | None
    ) -> CallAnswer:
        waiting = None
        if wanted is not None:
            waiting = await asyncio.to_thread(self._waiting_run, principal, name, wanted)
        if waiting is None:
            wait = self.history.full(principal)
            if wait is not None:
                return _history_full(self.history, wait)
            earlier = self.history.earlier(principal, self._tools)
            run = await self.agent.call_tool(name, given, principal=principal,
                                             called_by=CALLED_BY, earlier=earlier)  # fmt: skip
            if run.status == "awaiting_approval":
                await asyncio.to_thread(self.store.save, run)
            else:
                self.history.add(principal, run.steps[-1], self._tools)
            return answer(run)
        paused, undecided = waiting
        if any(p.approval_id in undecided for p in paused.pending):
            return answer(paused)  # not decided yet: the same request, not another
        decisions = await asyncio.to_thread(self.store.decisions, paused.run_id)
        run = await self.agent.resume(paused, decisions, principal=principal)
        await asyncio.to_thread(self.store.save, run)  # decided: never matched again
        self.history.add(principal, run.steps[-1], self._tools)
        return answer(run)

    def _waiting_run(
        self, principal: Principal, name: str, wanted: str
    ) -> tuple[RunResult, set[str]] | None:
        """The paused run of this very call (`wanted`: its canonical arguments) by this
        principal, and its undecided approvals; None when there is none."""
        for run, open_ids in self.store.waiting(self.agent.runner.agent_name, name):
            if (
                run.called_by == CALLED_BY
                and run.principal == principal
                and run.steps
                and _same_arguments(run.steps[-1].raw_arguments, wanted)
            ):
                return run, open_ids
        return None


def answer(run: RunResult) -> CallAnswer:
    """What the client is told of a run of its one call."""
    detail: dict[str, Any] = {"run_id": run.run_id, "status": run.status}
    if run.status == "awaiting_approval" and run.pending:
        waiting = run.pending[0]
        detail |= {"approval_id": waiting.approval_id, "rule": waiting.rule}
        text = (
            f"This call waits for a person's approval ({waiting.approval_id}; "
            f"{waiting.rule}: {waiting.reason}). Nothing has run. Once it is decided, "
            "make the same call again with the same arguments: it runs then if approved."
        )
        return CallAnswer(text, True, detail)
    step = run.steps[-1]  # the client's call
    detail["status"] = step.status
    if step.untrusted:
        detail["untrusted"] = True
    if step.decision is not None and step.status in ("denied", "declined"):
        detail["rule"] = step.decision.rule
    return CallAnswer(step.output or "", step.status != "ok", detail)


def _history_full(history: CallHistory, wait: float) -> CallAnswer:
    text = (
        f"Not run: {history.limit} of your calls from the last {history.window:.0f} s are "
        "already in view of the policy's data-flow rules, and none is forgotten early. "
        f"Call again in {wait:.0f} s."
    )
    return CallAnswer(text, True, {"status": "history_full", "retry_after": round(wait, 3)})


def _same_arguments(raw: str, wanted: str) -> bool:
    try:
        return canonical_json(json.loads(raw)) == wanted
    except ValueError:
        return False


def _listed(tool: Tool) -> ListedTool:
    effect = tool.side_effect
    return ListedTool(
        name=tool.name,
        description=tool.description,
        input_schema=dict(tool.parameters),
        read_only=effect == "read",
        destructive=effect == "destructive",
        open_world=effect == "external_send",
    )
