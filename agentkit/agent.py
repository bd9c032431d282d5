"""`Agent`: subclass it, declare a model, instructions and tools, then run it.

```python
class OpsCopilot(Agent):
    model = "grok-4-1-fast-non-reasoning"
    instructions = "You help the on-call engineer."
    policy = "agentkit:ops_copilot"

    @tool
    async def lookup_ticket(self, ticket_id: int) -> dict[str, str]:
        '''Look up a support ticket.'''
        ...

result = OpsCopilot().run_sync("What is ticket 42 about?")
```
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import warnings
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    Sequence,
)
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from agentkit.audit.chain import AuditRecorder
from agentkit.decision import Authoriser, Principal, ToolInfo
from agentkit.errors import AgentkitError, ConfigError
from agentkit.events import EventSink, RunEvent
from agentkit.media.image_input import ImagesArg
from agentkit.media.moderation import Moderator
from agentkit.model.types import ModelClient
from agentkit.pipeline.authorise import EarlierCalls, RateWindow
from agentkit.pipeline.checkpoints import Checkpoints
from agentkit.pipeline.confirm import ApprovalDecision, ApprovalLedger, Approver
from agentkit.pipeline.overrides import with_overrides
from agentkit.pipeline.run_config import RunConfig
from agentkit.pipeline.runner import Runner
from agentkit.run_limits import HasRunLimits
from agentkit.sealing import Sealer
from agentkit.state import RunResult, Step
from agentkit.telemetry.settings import TelemetrySettings
from agentkit.tool import Tool, as_tool, tool_spec
from agentkit.tools.mcp.remote import policy_names

DEFAULT_MODEL = "grok-4-1-fast-non-reasoning"
DEFAULT_POLICY = "agentkit:default"
"""The policy of an agent given none: reads run, every other call waits for a person."""

_warned_default_policy = False


def _warn_default_policy(agent: str) -> None:
    """Say once per process that an agent runs under the default policy, and what it does."""
    global _warned_default_policy
    if _warned_default_policy:
        return
    _warned_default_policy = True
    warnings.warn(
        f"{agent} has no policy: it runs under {DEFAULT_POLICY} (read tools run; every "
        "other call waits for a person's confirmation). Give it a policy, or "
        "policy=AllowAll() to allow everything but destructive calls.",
        DefaultPolicyWarning,
        stacklevel=4,
    )


class DefaultPolicyWarning(UserWarning):
    """An agent was built without a policy and runs under `agentkit:default`."""


class DefaultAudit(enum.Enum):
    """The `audit` of an agent given none: the process's log in ``.agentkit/audit/``."""

    LOG = "default"


DEFAULT_AUDIT = DefaultAudit.LOG


class Agent:
    """Base class of user agents. Class attributes are defaults; constructor arguments win."""

    model: ClassVar[str] = DEFAULT_MODEL
    instructions: ClassVar[str | None] = None
    tools: ClassVar[Sequence[Tool | Callable[..., Any]]] = ()
    """Tools besides the @tool methods of the class."""
    server_tools: ClassVar[Sequence[Mapping[str, Any]]] = ()
    """xAI server-side tools (web_search, x_search) entries, sent as they are."""
    policy: ClassVar[str | Path | Sequence[str | Path] | None] = None
    """Path(s) of the YAML policy; later files extend earlier ones."""
    config: ClassVar[RunConfig] = RunConfig()
    output_type: ClassVar[type[BaseModel] | None] = None
    """A pydantic model the final answer must match (strict JSON; one corrective turn)."""

    _method_tools: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = [n for n, v in vars(cls).items() if callable(v) and tool_spec(v) is not None]
        inherited = [n for n in getattr(cls, "_method_tools", ()) if n not in names]
        cls._method_tools = (*inherited, *names)

    def __init__(
        self,
        *,
        client: ModelClient | None = None,
        model: str | None = None,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        policy: Authoriser | str | Path | Sequence[str | Path] | None = None,
        approver: Approver | None = None,
        audit: AuditRecorder | DefaultAudit | None = DEFAULT_AUDIT,
        config: RunConfig | None = None,
        principal: Principal | None = None,
        approvals: ApprovalLedger | None = None,
        sealer: Sealer | None = None,
        rate_window: RateWindow | None = None,
        moderator: Moderator | None = None,
        telemetry: TelemetrySettings | None = None,
    ) -> None:
        self.model_name = model or type(self).model
        self.tool_list = self._collect_tools(tools)
        self._client = client
        self._owns_client = client is None
        self.principal = principal or Principal()
        self.authoriser = self._load_policy(policy if policy is not None else type(self).policy)
        # here, not only in the Runner: a policy the tools cannot honour fails at assembly
        servers = [name for name, _ in policy_names(type(self).server_tools)]
        self.tool_list = with_overrides(self.tool_list, self.authoriser, servers)
        self._runner_args: dict[str, Any] = {
            "approver": approver,
            "audit": audit,
            "ledger": approvals,
            "sealer": sealer,
            "rate_window": rate_window,
            "config": config or type(self).config,
            "moderator": moderator,
            "telemetry": telemetry,
        }
        self._runner: Runner | None = None

    # --- running ------------------------------------------------------------------------

    async def run(
        self,
        prompt: str,
        *,
        images: ImagesArg = (),
        principal: Principal | None = None,
        run_id: str | None = None,
        events: EventSink | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> RunResult:
        """Run the agent on one prompt until it answers, pauses for approval, or fails.

        `images` go beside the prompt in the first user message: `ImageInput`s, or what
        `ImageInput` is built from (a str starting ``https://`` is a URL xAI fetches,
        another str or a path-like a file, bytes the image itself); each is checked before
        anything is sent (`agentkit.media.image_input`; refusals are `ImageInputError`).
        A run with images is sent with ``store: false`` and never chained. `events`, when
        given, is called with each `RunEvent` as it happens (what `stream` yields, without
        the last ``run.result``). `checkpoints`, when given, is told where the run could be
        continued from by another process (`agentkit.pipeline.checkpoints`; the service
        uses it).
        """
        return await self.runner.start(
            prompt,
            images=images,
            principal=principal or self.principal,
            run_id=run_id,
            events=events,
            checkpoints=checkpoints,
        )

    async def call_tool(
        self,
        tool: str,
        arguments: Mapping[str, Any],
        *,
        principal: Principal | None = None,
        called_by: str = "client",
        run_id: str | None = None,
        earlier: EarlierCalls | Sequence[Step] = (),
    ) -> RunResult:
        """Make one call of this agent's tools on a client's behalf, with no model: it is
        validated, decided by the policy, confirmed, run, labelled and audited as a model's
        call would be (`agentkit mcp serve` serves each MCP call so).

        The result is a run of that one call: completed, with the call's output as its
        output (a denied, invalid or failed call is completed too; its step, the run's
        last, says how it ended), or paused for approval, to `resume` with the decision.
        `earlier` are the steps of the client's earlier calls, which the policy's data-flow
        rules, sinks and per-run limits then see as if made in this run.
        """
        return await self.runner.call_tool(
            tool,
            arguments,
            principal=principal or self.principal,
            called_by=called_by,
            run_id=run_id,
            earlier=earlier,
        )

    def stream(
        self,
        prompt: str,
        *,
        images: ImagesArg = (),
        principal: Principal | None = None,
        run_id: str | None = None,
    ) -> AsyncIterator[RunEvent]:
        """Run the agent, yielding each `RunEvent` as it happens; the last is ``run.result``
        with the run's state. A run that fails yields its ``run.result`` (status failed),
        then raises its error. Leaving the loop early cancels the run. `images` as for
        `run`."""
        return _streamed(
            lambda sink: self.run(
                prompt, images=images, principal=principal, run_id=run_id, events=sink
            )
        )

    def resume_stream(
        self,
        run: RunResult | str,
        decisions: Iterable[ApprovalDecision] | Mapping[str, bool] | None = None,
        *,
        approver: str = "unknown",
        principal: Principal | None = None,
    ) -> AsyncIterator[RunEvent]:
        """`resume`, yielding events as `stream` does."""
        return _streamed(
            lambda sink: self.resume(
                run, decisions, approver=approver, principal=principal, events=sink
            )
        )

    def run_sync(
        self,
        prompt: str,
        *,
        images: ImagesArg = (),
        principal: Principal | None = None,
        run_id: str | None = None,
    ) -> RunResult:
        """`run` for code without an event loop."""
        return self._sync(self.run(prompt, images=images, principal=principal, run_id=run_id))

    async def resume(
        self,
        run: RunResult | str,
        decisions: Iterable[ApprovalDecision] | Mapping[str, bool] | None = None,
        *,
        approver: str = "unknown",
        principal: Principal | None = None,
        events: EventSink | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> RunResult:
        """Continue a paused run with decisions on its pending approvals.

        `run` may be the result itself or its JSON (from another process); it must carry
        the seal it paused with (`agentkit.sealing`). Pass `principal`, the person your
        application says the run is for: a run of anyone else is refused. `events` and
        `checkpoints` as for `run`.
        """
        state = RunResult.from_json(run) if isinstance(run, str) else run
        return await self.runner.resume(
            state,
            decisions,
            approver_name=approver,
            principal=principal,
            events=events,
            checkpoints=checkpoints,
        )

    async def continue_from(
        self,
        checkpoint: RunResult | str,
        *,
        principal: Principal | None = None,
        events: EventSink | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> RunResult:
        """Continue a run from the checkpoint a process that died kept for it (the sealed
        state given to `Checkpoints.turn_starting`): its last model turn is asked again."""
        state = RunResult.from_json(checkpoint) if isinstance(checkpoint, str) else checkpoint
        return await self.runner.continue_from(
            state, principal=principal, events=events, checkpoints=checkpoints
        )

    def resume_sync(
        self,
        run: RunResult | str,
        decisions: Iterable[ApprovalDecision] | Mapping[str, bool] | None = None,
        *,
        approver: str = "unknown",
        principal: Principal | None = None,
    ) -> RunResult:
        return self._sync(self.resume(run, decisions, approver=approver, principal=principal))

    async def aclose(self) -> None:
        """Close the model client if the agent created it."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None
            self._runner = None

    def _sync(self, coro: Coroutine[Any, Any, RunResult]) -> RunResult:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise ConfigError("the _sync methods cannot run inside an event loop; await instead")

        async def run_and_close() -> RunResult:
            try:
                return await coro
            finally:
                # connections belong to this event loop, which ends here
                await self.aclose()
                release = getattr(self._client, "release_connections", None)
                if release is not None:  # a client the caller gave stays usable
                    await release()

        return asyncio.run(run_and_close())

    # --- assembly -----------------------------------------------------------------------

    @property
    def client(self) -> ModelClient:
        if self._client is None:
            from agentkit.model import XAIClient

            self._client = XAIClient()
        return self._client

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            if self._runner_args["audit"] is DEFAULT_AUDIT:
                from agentkit.audit.default_log import default_audit_log

                self._runner_args["audit"] = default_audit_log()
            self._runner = Runner(
                client=self.client,
                model=self.model_name,
                tools=self.tool_list,
                authoriser=self.authoriser,
                instructions=type(self).instructions,
                server_tools=type(self).server_tools,
                agent_name=type(self).__name__,
                output_type=type(self).output_type,
                limits=self.authoriser.run_limits
                if isinstance(self.authoriser, HasRunLimits)
                else None,
                **self._runner_args,
            )
        return self._runner

    def _collect_tools(self, extra: Iterable[Tool | Callable[..., Any]]) -> list[Tool]:
        collected = [as_tool(getattr(type(self), n)).bind(self) for n in self._method_tools]
        collected += [as_tool(t) for t in (*type(self).tools, *extra)]
        seen: set[str] = set()
        for item in collected:
            if item.name in seen:
                raise ConfigError(f"{type(self).__name__}: two tools are named {item.name!r}")
            seen.add(item.name)
        return collected

    def _load_policy(
        self, policy: Authoriser | str | Path | Sequence[str | Path] | None
    ) -> Authoriser:
        if policy is None:
            _warn_default_policy(type(self).__name__)
            policy = DEFAULT_POLICY
        if hasattr(policy, "decide"):
            authoriser: Authoriser = policy
        else:
            from agentkit.policy import load_policy

            paths = [policy] if isinstance(policy, str | Path) else list(policy)
            authoriser = load_policy(*paths)
        check = getattr(authoriser, "check_tools", None)
        if check is not None:
            server = [
                ToolInfo(name=name, side_effect=side_effect, untrusted_output=True)
                for name, side_effect in policy_names(type(self).server_tools)
            ]
            check([t.info for t in self.tool_list] + server)
        return authoriser


async def _streamed(
    start: Callable[[EventSink], Awaitable[RunResult]],
) -> AsyncIterator[RunEvent]:
    """The events of the run `start(sink)` drives, then its ``run.result``."""
    queue: asyncio.Queue[RunEvent | None] = asyncio.Queue()
    last: list[RunEvent] = []

    def sink(event: RunEvent) -> None:
        last[:] = [event]
        queue.put_nowait(event)

    async def drive() -> RunResult:
        try:
            return await start(sink)
        finally:
            queue.put_nowait(None)  # the stream ends with the run, however it ends

    task = asyncio.ensure_future(drive())
    try:
        while (event := await queue.get()) is not None:
            yield event
        try:
            result = await task
        except AgentkitError as exc:
            if exc.run is not None:
                yield RunEvent.result_of(exc.run, _next_seq(last))
            raise
        yield RunEvent.result_of(result, _next_seq(last))
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, AgentkitError):
                await task


def _next_seq(last: list[RunEvent]) -> int:
    return last[0].seq + 1 if last else 1
