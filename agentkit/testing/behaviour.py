"""What the fake model says: turn selection from the request, and the built-in test model.

The turn that answers a request is derived from the request itself (never from a global
counter), so concurrent conversations against one server each follow the script:
turn index = model turns already in the conversation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from agentkit.testing.fake_usage import count_tokens, is_reasoning_model
from agentkit.testing.schema_args import fit_arguments, fit_value
from agentkit.testing.script import Turn

Endpoint = Literal["responses", "chat"]
OriginOf = Callable[[str], str | None]

MODEL_ITEM_TYPES = frozenset(
    {
        "function_call",
        "reasoning",
        "web_search_call",
        "x_search_call",
        "custom_tool_call",
        "code_interpreter_call",
        "file_search_call",
        "mcp_call",
    }
)
_MENTION_LIMIT = 200


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """A function tool the request offers."""

    name: str
    parameters: dict[str, Any]


def input_items(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The Responses request's ``input`` as a list of items."""
    value = request.get("input")
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return [item for item in value or [] if isinstance(item, dict)]


def _is_model_item(item: dict[str, Any]) -> bool:
    return item.get("type") in MODEL_ITEM_TYPES or item.get("role") == "assistant"


def count_model_turns(items: list[dict[str, Any]], origin_of: OriginOf) -> int:
    """Model turns in ``items``: distinct answers that issued them, else runs of model items."""
    origins: set[str] = set()
    foreign_groups = 0
    in_foreign_group = False
    for item in items:
        if not _is_model_item(item):
            in_foreign_group = False
            continue
        origin = origin_of(str(item.get("call_id") or "")) or origin_of(str(item.get("id") or ""))
        if origin is not None:
            origins.add(origin)
            in_foreign_group = False
        elif not in_foreign_group:
            foreign_groups += 1
            in_foreign_group = True
    return len(origins) + foreign_groups


def count_chat_turns(request: dict[str, Any]) -> int:
    """Assistant messages already in a chat request."""
    messages = request.get("messages") or []
    return sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")


def function_tools(request: dict[str, Any], endpoint: Endpoint) -> list[FunctionTool]:
    """The function tools a request offers, in order (server-side tools are skipped)."""
    tools = []
    for entry in request.get("tools") or []:
        if not isinstance(entry, dict) or entry.get("type") != "function":
            continue
        spec = entry.get("function", {}) if endpoint == "chat" else entry
        if isinstance(spec, dict) and spec.get("name"):
            tools.append(FunctionTool(str(spec["name"]), dict(spec.get("parameters") or {})))
    return tools


def tool_outputs(request: dict[str, Any], endpoint: Endpoint) -> list[str]:
    """The tool results present in the request's input, as text."""
    if endpoint == "chat":
        found = [m.get("content") for m in request.get("messages") or [] if _is_tool_message(m)]
    else:
        found = [
            i.get("output") for i in input_items(request) if i.get("type") == "function_call_output"
        ]
    return [v if isinstance(v, str) else json.dumps(v) for v in found]


def _is_tool_message(message: Any) -> bool:
    return isinstance(message, dict) and message.get("role") == "tool"


def last_user_text(request: dict[str, Any], endpoint: Endpoint) -> str:
    """The text of the last user message, or ``""``."""
    items = request.get("messages") or [] if endpoint == "chat" else input_items(request)
    for item in reversed(items):
        if isinstance(item, dict) and item.get("role") == "user":
            return _content_text(item.get("content"))
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def offline_turn(request: dict[str, Any], endpoint: Endpoint) -> Turn:
    """The built-in test model: call the first tool, then report its output, else chat."""
    tools = function_tools(request, endpoint)
    outputs = tool_outputs(request, endpoint)
    choice = request.get("tool_choice", "auto")
    if tools and not outputs and choice != "none":
        tool = _chosen_tool(tools, choice)
        return Turn.call(tool.name, fit_arguments(tool.parameters))
    if outputs:
        mentioned = "; ".join(_shorten(o) for o in outputs)
        text = f"The tools returned: {mentioned}"
    else:
        said = _shorten(last_user_text(request, endpoint))
        text = f"Hello from the offline test model. You said: {said}" if said else "Hello."
    wanted = output_format(request, endpoint)
    if wanted is not None:
        return Turn.text(structured_answer(wanted, text))
    return Turn.text(text)


def output_format(request: dict[str, Any], endpoint: Endpoint) -> dict[str, Any] | None:
    """The structured output the request asks for: Responses ``text.format``, Chat
    ``response_format`` (a ``json_schema`` or ``json_object``), else None for plain text."""
    if endpoint == "chat":
        wanted = request.get("response_format")
        if isinstance(wanted, dict) and wanted.get("type") == "json_schema":
            inner = wanted.get("json_schema")
            schema = inner.get("schema") if isinstance(inner, dict) else None
            return {"type": "json_schema", "schema": schema if isinstance(schema, dict) else {}}
    else:
        text = request.get("text")
        wanted = text.get("format") if isinstance(text, dict) else None
    if not isinstance(wanted, dict) or wanted.get("type") not in ("json_schema", "json_object"):
        return None
    return wanted


def structured_answer(wanted: dict[str, Any], text: str) -> str:
    """A JSON answer that fits the requested schema (a json_object carries the text)."""
    if wanted.get("type") == "json_object":
        return json.dumps({"answer": text})
    schema = wanted.get("schema")
    return json.dumps(fit_value(schema if isinstance(schema, dict) else {}))


OUTPUT_CAPS: dict[Endpoint, str] = {
    "responses": "max_output_tokens",
    "chat": "max_completion_tokens",
}
CHARS_PER_TOKEN = 4


def capped_turn(turn: Turn, request: dict[str, Any], endpoint: Endpoint) -> Turn:
    """``turn`` as the API answers it under the request's output cap.

    The cap bounds visible output only: reasoning and function-call tokens do not count
    (xAI's OpenAPI spec, ``max_output_tokens``). A text past it is cut there and the answer
    is incomplete, for the reason ``max_output_tokens``.
    """
    cap = request.get(OUTPUT_CAPS[endpoint])
    if not isinstance(cap, int) or isinstance(cap, bool) or turn.answer is None:
        return turn
    if count_tokens(turn.answer) <= cap:
        return turn
    cut = turn.answer[: cap * CHARS_PER_TOKEN]
    thought = turn.reasoning_tokens
    if thought is None:  # the model thought about the whole answer, not the part it could send
        model = str(request.get("model", ""))
        thought = max(16, count_tokens(turn.answer) * 2) if is_reasoning_model(model) else 0
    reason = turn.incomplete or "max_output_tokens"
    return replace(turn, answer=cut, incomplete=reason, reasoning_tokens=thought)


def _chosen_tool(tools: list[FunctionTool], choice: Any) -> FunctionTool:
    if isinstance(choice, dict):
        name = choice.get("name") or (choice.get("function") or {}).get("name")
        for tool in tools:
            if tool.name == name:
                return tool
    return tools[0]


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MENTION_LIMIT else text[: _MENTION_LIMIT - 3] + "..."
