"""`/v1/chat/completions`: the compatibility endpoint, converted at this edge.

Requests: Responses input items become chat messages (`function_call` -> assistant
`tool_calls` with `content: ""`, `function_call_output` -> `role: tool`); function tools are
wrapped. Responses: the chat completion becomes Responses output items, so the loop sees
one shape whatever the endpoint.
"""

from __future__ import annotations

from typing import Any

from agentkit.errors import ConfigError, ModelBehaviorError, UnsupportedParameter
from agentkit.model.pricing import PriceTable
from agentkit.model.responses_wire import parse_output
from agentkit.model.types import Citation, Item, ModelRequest, ModelResponse
from agentkit.model.usage import normalise_usage

_OPTIONAL_FIELDS = (
    "temperature",
    "top_p",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "stop",
    "user",
)
_SKIPPED_ITEMS = frozenset({"reasoning"})


def build_chat_body(request: ModelRequest) -> dict[str, Any]:
    """The JSON body of `POST /v1/chat/completions` for `request`."""
    if request.previous_response_id is not None:
        raise UnsupportedParameter(request.model, "previous_response_id (chat endpoint)")
    body: dict[str, Any] = {
        "model": request.model,
        "messages": to_chat_messages(request.instructions, request.input),
        "parallel_tool_calls": request.parallel_tool_calls,
    }
    if request.tools:
        body["tools"] = [_chat_tool(request.model, tool) for tool in request.tools]
        body["tool_choice"] = _chat_tool_choice(request.tool_choice)
    for name in _OPTIONAL_FIELDS:
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.max_output_tokens is not None:
        body["max_completion_tokens"] = request.max_output_tokens
    if request.reasoning_effort is not None:
        body["reasoning_effort"] = request.reasoning_effort
    if request.text_format is not None:
        body["response_format"] = _response_format(request.text_format)
    if request.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _chat_tool(model: str, tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        raise UnsupportedParameter(model, f"tools[type={tool.get('type')!r}] (chat endpoint)")
    function = {k: v for k, v in tool.items() if k != "type"}
    return {"type": "function", "function": function}


def _chat_tool_choice(choice: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(choice, dict) and choice.get("type") == "function" and "name" in choice:
        return {"type": "function", "function": {"name": choice["name"]}}
    return choice


def _response_format(fmt: dict[str, Any]) -> dict[str, Any]:
    if fmt.get("type") != "json_schema":
        return fmt
    inner = {k: v for k, v in fmt.items() if k != "type"}
    return {"type": "json_schema", "json_schema": inner}


def to_chat_messages(instructions: str | None, items: list[Item]) -> list[dict[str, Any]]:
    """Chat messages equivalent to Responses input items."""
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    for item in items:
        kind = item.get("type", "message")
        try:
            _append_item(messages, kind, item)
        except (KeyError, AttributeError, TypeError) as exc:
            raise ConfigError(f"malformed input item of type {kind!r}: missing {exc}") from exc
    return messages


def _append_item(messages: list[dict[str, Any]], kind: Any, item: Item) -> None:
    if kind == "message":
        messages.append({"role": item["role"], "content": _chat_content(item.get("content"))})
    elif kind == "function_call":
        _append_tool_call(messages, item)
    elif kind == "function_call_output":
        output = item.get("output", "")
        messages.append(
            {
                "role": "tool",
                "tool_call_id": item["call_id"],
                "content": output if isinstance(output, str) else str(output),
            }
        )
    elif kind not in _SKIPPED_ITEMS and not str(kind).endswith("_call"):
        raise ConfigError(f"input items of type {kind!r} cannot be sent to the chat endpoint")


def _append_tool_call(messages: list[dict[str, Any]], item: Item) -> None:
    call = {
        "id": item["call_id"],
        "type": "function",
        "function": {"name": item["name"], "arguments": item.get("arguments", "")},
    }
    last = messages[-1] if messages else None
    # parallel calls share one assistant message; its content must be "" (null is a 400)
    if last is not None and last["role"] == "assistant" and "tool_calls" in last:
        last["tool_calls"].append(call)
    else:
        messages.append({"role": "assistant", "content": "", "tool_calls": [call]})


def _chat_content(content: Any) -> Any:
    if not isinstance(content, list):
        return content if content is not None else ""
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image":
            image: dict[str, Any] = {"url": part.get("image_url", "")}
            if part.get("detail"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        else:
            parts.append(part)
    if all(p.get("type") == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def chat_output_items(completion_id: str, message: dict[str, Any]) -> list[Item]:
    """Responses output items equivalent to one chat `choices[0].message`."""
    items: list[Item] = []
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        items.append(
            {
                "type": "reasoning",
                "id": f"rs_{completion_id}",
                "summary": [{"type": "summary_text", "text": reasoning}],
                "status": "completed",
            }
        )
    content = message.get("content")
    if isinstance(content, str) and content:
        items.append(
            {
                "type": "message",
                "id": f"msg_{completion_id}",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": content, "annotations": []}],
            }
        )
    for call in message.get("tool_calls") or []:
        items.append(_function_call_item(call))
    return items


def _function_call_item(call: Any) -> Item:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(call.get("id"), str):
        raise ModelBehaviorError("malformed chat response: a tool call has no id or function")
    return {
        "type": "function_call",
        "id": call["id"],
        "call_id": call["id"],
        "name": function.get("name"),
        "arguments": function.get("arguments", ""),
        "status": "completed",
    }


def parse_chat_body(
    body: Any, *, request_id: str, prices: PriceTable, fallback_model: str
) -> ModelResponse:
    """A `ModelResponse` (Responses-shaped output) from a chat completion body."""
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise ModelBehaviorError("malformed chat response: not an object with a string 'id'")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ModelBehaviorError("malformed chat response: no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise ModelBehaviorError("malformed chat response: choices[0] has no message")
    model = body.get("model")
    model = model if isinstance(model, str) and model else fallback_model
    status = "incomplete" if choices[0].get("finish_reason") == "length" else "completed"
    usage = normalise_usage(
        body.get("usage"), endpoint="chat", request_id=request_id, model=model, prices=prices
    )
    usage.status = status
    response = ModelResponse(
        id=body["id"], model=model, status=status, output=[], usage=usage, request_id=request_id
    )
    parse_output(chat_output_items(body["id"], message), response)
    if status == "incomplete":  # finish_reason "length": the output cap was reached
        response.incomplete_reason = "max_output_tokens"
    urls = body.get("citations")
    if isinstance(urls, list):
        response.citations.extend(Citation(url=u) for u in urls if isinstance(u, str))
    return response
