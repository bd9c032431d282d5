"""What the loop sends to a model and gets back, independent of the wire endpoint.

Input and output items are kept in the Responses API's own item shapes (plain dicts),
because that is what a stateless client resends; the chat endpoint converts at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Endpoint = Literal["responses", "chat"]
Item = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A `function_call` output item: the only kind of item the loop executes."""

    call_id: str
    name: str
    arguments: str
    """The raw JSON string exactly as the model sent it."""
    item_id: str = ""


@dataclass(frozen=True, slots=True)
class Citation:
    url: str
    title: str | None = None
    start_index: int | None = None
    end_index: int | None = None


@dataclass(frozen=True, slots=True)
class ServerToolCall:
    """A server-side tool item (web_search_call, x_search_call, custom_tool_call, ...):
    xAI ran it; agentkit reports it and never runs it."""

    type: str
    name: str
    arguments: str
    """The call's arguments as sent (`arguments`, or a `custom_tool_call`'s `input`)."""
    id: str
    status: str
    tool: str = ""
    """The server-side tool that made the call, as `tools` and a policy name it
    (`web_search`, `x_search`, ...); "" when the item does not say."""
    output: str = ""
    """What the tool answered, when the item carries it (an ``mcp_call``'s output or
    error): untrusted."""
    results: tuple[dict[str, Any], ...] = ()
    """What a ``file_search_call`` found: ``file_id``, ``filename``, ``score``, ``text``
    (documents' text: untrusted)."""


@dataclass(slots=True)
class Usage:
    """One normalised record per logical request."""

    request_id: str
    """agentkit's own `X-Request-Id`, the same on every attempt."""
    model: str
    endpoint: Endpoint
    input_tokens: int = 0
    output_tokens: int = 0
    """Includes reasoning tokens, as the Responses API counts them."""
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    image_tokens: int = 0
    total_tokens: int = 0
    server_side_tool_calls: int = 0
    server_tool_usage: dict[str, int] = field(default_factory=dict)
    """`server_side_tool_usage_details` as reported (positive counts): `web_search_calls`,
    `x_search_calls`, and `x_posts_fetched` / `x_users_fetched`, by which X search is billed."""
    cost_usd: float = 0.0
    """The API's cost when it reports one, else the price table's. It includes reasoning
    tokens, which `max_output_tokens` does not bound."""
    cost_source: Literal["api", "price_table", "unknown"] = "unknown"
    """`unknown`: no reported cost and no price for the model or a billed item; a cost budget
    cannot count such a request, so a run with one stops (`BudgetExceeded`)."""
    latency_ms: float = 0.0
    time_to_first_token_ms: float | None = None
    status: str = "completed"
    attempts: int = 1
    server_request_id: str | None = None
    """The `x-request-id` xAI answered the last attempt with, when it sent one."""
    queued_ms: float = 0.0
    """Time spent waiting in the client's rate gate (`agentkit.model.request_queue`),
    over every attempt; part of `latency_ms`."""
    route: dict[str, Any] | None = None
    """With a router (`agentkit.model.router`): the rule that chose the model, the model
    that answered, and the models that failed before it."""

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__slots__}
        for optional in ("queued_ms", "route"):  # set only by a gate or a router
            if not out[optional]:
                del out[optional]
        return out


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One logical request. `input` holds Responses-API input items."""

    model: str
    input: list[Item]
    instructions: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    """Wire-format tool entries (function tools and server-side tools)."""
    tool_choice: str | dict[str, Any] = "auto"
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    store: bool | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    stop: list[str] | None = None
    reasoning_effort: str | None = None
    text_format: dict[str, Any] | None = None
    """`text.format`, for example a strict json_schema."""
    user: str | None = None
    metadata: dict[str, str] | None = None
    prompt_cache_key: str | None = None
    stream: bool = False
    timeout: float | None = None
    """Per-call read timeout override, seconds."""
    purpose: str | None = None
    """Why the runner sends it, for a router to see (``correction``: an answer did not
    match the output type and the model is asked again); never sent."""
    task: str | None = None
    """The run's task type (`RunConfig.task`), for a router; never sent."""
    tier: str | None = None
    """The principal's tier (`Principal.tier`), for a router; never sent."""
    latency_budget_ms: int | None = None
    """How long the caller can wait for the answer (`RunConfig.latency_budget_ms`), for
    a router; never sent."""


@dataclass(slots=True)
class ModelResponse:
    """A model answer, the same whether it was streamed or not."""

    id: str
    model: str
    status: str
    """`completed`, or `incomplete` when the answer stopped short (see `incomplete_reason`):
    an incomplete answer is not a whole one, and the runner does not take it as one."""
    output: list[Item]
    """Output items in Responses shape, to append to the next request's input."""
    usage: Usage
    request_id: str
    function_calls: list[FunctionCall] = field(default_factory=list)
    server_tool_calls: list[ServerToolCall] = field(default_factory=list)
    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    reasoning_summary: str = ""
    incomplete_reason: str | None = None
    """Why an `incomplete` answer stopped: xAI's `incomplete_details.reason`
    (`max_output_tokens`, `max_prompt_tokens`, `max_time_limit`); None when complete or unsaid."""


class ModelClient(Protocol):
    """The seam between the loop and a model. `XAIClient` is the real one."""

    async def respond(self, request: ModelRequest) -> ModelResponse: ...

    async def aclose(self) -> None: ...


class UsageSink(Protocol):
    def __call__(self, usage: Usage) -> None: ...
