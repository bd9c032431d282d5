"""Requests the real API rejects, rejected the same way, so client bugs show up offline.

Each check returns ``(status, message)`` for the first problem found, or None. The
rules are data where they can be (which models reject which parameters).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentkit.testing.behaviour import Endpoint
from agentkit.testing.fake_usage import is_reasoning_model

Problem = tuple[int, str]
MAX_TOOLS = 350  # OpenAPI maxItems of `tools` (xai-sdk-ts spec/openapi.json)
MAX_DOMAINS = 5
REASONING_REJECTS = ("presence_penalty", "frequency_penalty", "stop")
NO_EFFORT_MODELS = frozenset({"grok-4", "grok-4-0709", "grok-4-fast-reasoning"})
UNSUPPORTED = ("background",)


def check_request(body: Any, endpoint: Endpoint) -> Problem | None:
    """The first reason the real API would refuse ``body``, or None."""
    if not isinstance(body, dict):
        return 422, "Failed to deserialize the JSON body into the target type: expected an object"
    checks: list[Callable[[dict[str, Any], Endpoint], Problem | None]] = [
        _required_fields,
        _unsupported,
        _model_parameters,
        _temperature,
        _tools,
        _chat_messages,
    ]
    for check in checks:
        problem = check(body, endpoint)
        if problem is not None:
            return problem
    return None


def _required_fields(body: dict[str, Any], endpoint: Endpoint) -> Problem | None:
    needed = ("model", "messages") if endpoint == "chat" else ("model", "input")
    for name in needed:
        if name not in body:
            return 422, (
                f"Failed to deserialize the JSON body into the target type: missing field `{name}`"
            )
    return None


def _unsupported(body: dict[str, Any], endpoint: Endpoint) -> Problem | None:
    for name in UNSUPPORTED:
        if body.get(name):
            return 400, f"Argument not supported: {name}"
    return None


def _model_parameters(body: dict[str, Any], endpoint: Endpoint) -> Problem | None:
    model = str(body.get("model", ""))
    if is_reasoning_model(model):
        for name in REASONING_REJECTS:
            if body.get(name) is not None:
                return 400, f"Argument not supported on this model: {name}"
    effort = body.get("reasoning_effort")
    if endpoint == "responses" and isinstance(body.get("reasoning"), dict):
        effort = body["reasoning"].get("effort")
    if effort is not None and model in NO_EFFORT_MODELS:
        return 400, f"Model {model} does not support parameter reasoningEffort."
    return None


def _temperature(body: dict[str, Any], endpoint: Endpoint) -> Problem | None:
    value = body.get("temperature")
    if isinstance(value, int | float) and not 0 <= value <= 2:
        return 400, f"temperature must be between 0 and 2, got {value}"
    return None


def _tools(body: dict[str, Any], endpoint: Endpoint) -> Problem | None:
    tools = body.get("tools") or []
    if len(tools) > MAX_TOOLS:
        return 400, f"A maximum of {MAX_TOOLS} tools is supported, got {len(tools)}"
    for tool in tools:
        problem = _tool_entry(tool, endpoint)
        if problem is not None:
            return problem
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") not in (None, "function"):
        return 400, f"Server-side tools cannot be forced: tool_choice {choice.get('type')}"
    return None


def _tool_entry(tool: Any, endpoint: Endpoint) -> Problem | None:
    if not isinstance(tool, dict):
        return 422, "Failed to deserialize the JSON body into the target type: tools"
    if tool.get("type") == "function":
        spec = tool.get("function") if endpoint == "chat" else tool
        params = spec.get("parameters") if isinstance(spec, dict) else None
        if not isinstance(spec, dict) or not spec.get("name"):
            return 422, "Failed to deserialize the JSON body into the target type: tool name"
        if params is not None and params.get("type", "object") != "object":
            return 400, f"Invalid function schema for {spec['name']}: root must be type object"
        if params is not None and "anyOf" in params:
            return 400, f"Invalid function schema for {spec['name']}: root anyOf is not supported"
        return None
    return _search_tool(tool)


def _search_tool(tool: dict[str, Any]) -> Problem | None:
    pairs = {
        "web_search": ("allowed_domains", "excluded_domains", MAX_DOMAINS),
        "x_search": ("allowed_x_handles", "excluded_x_handles", 20),
    }
    rule = pairs.get(str(tool.get("type")))
    if rule is None:
        return None
    allowed, excluded, limit = rule
    if tool.get(allowed) and tool.get(excluded):
        return 400, f"{allowed} and {excluded} cannot be set together"
    for name in (allowed, excluded):
        if len(tool.get(name) or []) > limit:
            return 400, f"{name} accepts at most {limit} entries"
    return None


def _chat_messages(body: dict[str, Any], endpoint: Endpoint) -> Problem | None:
    if endpoint != "chat":
        return None
    for index, message in enumerate(body.get("messages") or []):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        if message.get("tool_calls") and message.get("content") in (None, []):
            return 400, (
                f"messages[{index}]: an assistant message with tool_calls must have "
                'content "" (not null or [])'
            )
    return None
