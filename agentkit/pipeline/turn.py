"""Stage turn: fold one model response into the run state."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from agentkit.decision import Decision, SideEffect
from agentkit.errors import ModelBehaviorError
from agentkit.media.image_input import carries_images
from agentkit.model.outcome import incomplete_error
from agentkit.model.types import FunctionCall, ModelRequest, ModelResponse, ServerToolCall
from agentkit.pipeline.run_config import RunConfig
from agentkit.state import RunResult, Step
from agentkit.tools.mcp.remote import offered_mcp

NOT_OFFERED = Decision(
    action="deny",
    reason="xAI ran a server-side tool this request did not offer; its results are untrusted",
    rule="xai-server-side.not-offered",
)


def offered_server_tools(
    entries: list[dict[str, Any]], decide: Callable[[str, SideEffect], Decision]
) -> tuple[list[dict[str, Any]], dict[str, Decision]]:
    """The server-side tool entries (web_search, x_search, ...) to offer in this request:
    those the policy allows outright now, for this principal and run. xAI runs them, so
    nothing can pause them for a person: a confirm leaves a tool out, as a deny does.

    Returns the entries to send and each tool's decision, to record on the calls xAI makes.
    """
    decisions: dict[str, Decision] = {}
    offered = []
    for entry in entries:
        if entry.get("type") == "mcp":  # a remote MCP server: its allowed tools, by name
            sent, by_tool = offered_mcp(entry, decide)
            decisions.update(by_tool)
            if sent is not None:
                offered.append(sent)
            continue
        name = str(entry.get("type"))
        decisions[name] = decide(name, "read")
        if decisions[name].action == "allow":
            offered.append(entry)
    return offered, decisions


def model_request(
    run: RunResult,
    *,
    model: str,
    instructions: str | None,
    tools: list[dict[str, Any]],
    text_format: dict[str, Any] | None,
    config: RunConfig,
) -> ModelRequest:
    """The next request of `run`: the whole conversation, or only what the server lacks.

    A conversation with images is sent with ``store: false`` (xAI advises against storing
    images) and so never chained: each request carries the whole conversation. Every
    request of a run carries the run's id as its ``prompt_cache_key``, so the server routes
    its turns to the same cache (the history is only ever appended to, so each turn's
    prefix is the last one's); ``request_options`` may set another, or None for none.
    """
    options = {"prompt_cache_key": run.run_id, **config.request_options}
    images = carries_images(run.conversation)
    if images:
        options = {**options, "store": False}
    chained = config.chain_responses and run.previous_response_id is not None and not images
    return ModelRequest(
        model=model,
        input=run.conversation[run.server_has :] if chained else list(run.conversation),
        previous_response_id=run.previous_response_id if chained else None,
        instructions=instructions,
        tools=tools,
        text_format=text_format,
        parallel_tool_calls=config.parallel_tool_calls,
        stream=config.stream,
        user=run.principal.user_id,
        purpose="correction" if run.corrections else None,
        task=config.task,
        tier=run.principal.tier,
        latency_budget_ms=config.latency_budget_ms,
        **options,
    )


def fold_response(
    run: RunResult,
    response: ModelResponse,
    *,
    now: float,
    server_decisions: Mapping[str, Decision] | None = None,
) -> list[Step]:
    """Advance the turn, keep what is resent next time, add usage and citations.

    Returns the steps recorded for server-side tools (searches xAI ran), each with the
    decision that offered it: their results reached the model, so they count as untrusted
    output for the data-flow rules.
    """
    run.turn += 1
    run.conversation.extend(item for item in response.output if _resendable(item))
    run.previous_response_id = response.id
    run.server_has = len(run.conversation)
    _add_usage(run, response)
    decisions = server_decisions or {}
    steps = [
        _server_step(run, call, now, decisions.get(server_tool_name(call), NOT_OFFERED))
        for call in response.server_tool_calls
    ]
    run.steps.extend(steps)
    return steps


def unpriced_requests(run: RunResult) -> int:
    """Responses of `run` whose cost is unknown (neither reported nor in the price table)."""
    return sum(1 for usage in run.usage if usage.get("cost_source") == "unknown")


def check_complete(response: ModelResponse) -> None:
    """Refuse an answer that stopped short (`status: incomplete`): its text is a fragment and
    its calls may be cut, so it is neither the run's answer nor a turn of calls to run.
    Call it after `fold_response`: the tokens it spent still count against the budget.

    Raises:
        ResponseIncomplete: naming xAI's reason (`incomplete_details.reason`).
    """
    error = incomplete_error(response)
    if error is not None:
        raise error


class StepIds:
    """The call ids of a run's steps, taken in as steps are added, so a run with a long
    history does not gather them all again each turn (``run.memo()["step_ids"]``)."""

    __slots__ = ("count", "ids", "last")

    def __init__(self, steps: list[Step]) -> None:
        self.ids: set[str] = set()
        self.count = 0
        self.last: Step | None = None
        self.current(steps)

    @classmethod
    def of(cls, steps: list[Step], ids: set[str]) -> StepIds:
        """For `steps` whose `ids` are known already (a copy of them is kept)."""
        made = cls([])
        made.ids, made.count = set(ids), len(steps)
        made.last = steps[-1] if steps else None
        return made

    def current(self, steps: list[Step]) -> set[str]:
        """The ids of `steps`, which were these steps with more added (else read again)."""
        if len(steps) < self.count or (self.count and steps[self.count - 1] is not self.last):
            self.ids, self.count = set(), 0  # other steps: read them again
        for step in steps[self.count :]:
            self.ids.add(step.call_id)
        if len(steps) > self.count:
            self.count, self.last = len(steps), steps[-1]
        return self.ids


def step_ids(run: RunResult) -> set[str]:
    """The call ids of the run's steps (a view: copy it to change it)."""
    memo = run.memo()
    kept = memo.get("step_ids")
    if not isinstance(kept, StepIds):
        kept = memo["step_ids"] = StepIds(run.steps)
    return kept.current(run.steps)


def check_call_ids(run: RunResult, calls: list[FunctionCall]) -> None:
    """Refuse a turn whose calls repeat a call id of the run: every call is one step.

    Raises:
        ModelBehaviorError: two calls share an id (outputs and approvals name calls by id).
    """
    earlier, seen = step_ids(run), set()
    for call in calls:
        if call.call_id in earlier or call.call_id in seen:
            raise ModelBehaviorError(
                f"the model repeated the call id {call.call_id!r} in run {run.run_id}; "
                "each call needs its own id"
            )
        seen.add(call.call_id)


def server_tool_name(call: ServerToolCall) -> str:
    """The name a policy uses for the server-side tool: the one the wire parser read off the
    item (an X search sent as `custom_tool_call` is `x_search`), else the item type without
    `_call` (`web_search_call` -> `web_search`), else the item's name."""
    return call.tool or call.type.removesuffix("_call") or call.name


def _server_step(run: RunResult, call: ServerToolCall, now: float, decision: Decision) -> Step:
    step = Step(
        call_id=call.id,
        tool=server_tool_name(call),
        turn=run.turn,
        raw_arguments=call.arguments,
        arguments=_json_object(call.arguments),
        status="server",
        decision=decision,
        untrusted=True,
        started_at=now,
    )
    if call.output:  # what a remote MCP tool answered: kept, untrusted
        step.output = call.output
    if call.results:  # documents a server-side search found: cited, kept, untrusted
        step.data = {"results": [dict(r) for r in call.results]}
        step.output = "\n\n".join(f"[file:{r['file_id']}] {r['text']}" for r in call.results)
        step.citations = list(dict.fromkeys(f"file:{r['file_id']}" for r in call.results))
        run.citations.extend(c for c in step.citations if c not in run.citations)
    return step


def _resendable(item: dict[str, Any]) -> bool:
    """Server-side tool items are xAI's record of its own work, not input it documents."""
    kind = str(item.get("type", ""))
    return kind == "function_call" or not kind.endswith("_call")


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _add_usage(run: RunResult, response: ModelResponse) -> None:
    usage = response.usage
    totals = run.totals
    totals.requests += 1
    totals.input_tokens += usage.input_tokens
    totals.output_tokens += usage.output_tokens
    totals.reasoning_tokens += usage.reasoning_tokens
    totals.cached_tokens += usage.cached_tokens
    totals.image_tokens += usage.image_tokens
    totals.total_tokens += usage.total_tokens
    totals.cost_usd += usage.cost_usd
    totals.queued_ms += usage.queued_ms
    run.usage.append(usage.to_dict())
    for citation in response.citations:
        if citation.url not in run.citations:
            run.citations.append(citation.url)
