"""Bodies in xAI's wire format: Responses objects, output items, errors, the model list.

Shapes follow real captured answers: the response id is a bare UUID, the message id is
``msg_<response id>``, a reasoning item ``rs_<response id>``, a server-side tool item
``fc_<response id>_<n>``; function calls carry ``fc_...`` ids and ``call_...`` call ids.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from agentkit.testing.script import Search, ToolCall, Turn

# gRPC status descriptions, which xAI sends as the flat error body's `code`.
ERROR_CODES: dict[int, str] = {
    400: "Client specified an invalid argument",
    401: "The request does not have valid authentication credentials",
    403: "The caller does not have permission to execute the specified operation",
    404: "Some requested entity was not found",
    405: "Method not allowed",
    415: "Unsupported media type",
    422: "Client specified an invalid argument",
    429: "Some resource has been exhausted",
    500: "Internal error",
    502: "The service is currently unavailable",
    503: "The service is currently unavailable",
    504: "The deadline expired before the operation could complete",
    529: "The service is overloaded",
}
DEFAULT_MESSAGES: dict[int, str] = {
    429: "Too many requests: the rate limit of this model was reached. Retry after a moment.",
    500: "An internal error occurred. Please retry the request.",
    503: "The service is temporarily overloaded. Please retry the request.",
    529: "The service is overloaded. Please retry the request with backoff.",
}
MODELS: tuple[str, ...] = (
    "grok-4-0709",
    "grok-4-1-fast-reasoning",
    "grok-4-1-fast-non-reasoning",
    "grok-4-fast-reasoning",
    "grok-4-fast-non-reasoning",
    "grok-code-fast-1",
    "grok-3-mini",
    "grok-4.3",
)
SEARCH_TOOL_NAMES = {"web": "web_search", "x": "x_keyword_search"}


def new_response_id() -> str:
    """A response id: a bare UUID, as xAI sends it."""
    return str(uuid.uuid4())


def new_call_id() -> str:
    """A function call's ``call_id``."""
    return f"call_{uuid.uuid4().hex[:24]}"


def dumps(value: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def error_body(status: int, message: str | None = None) -> dict[str, str]:
    """xAI's flat error body: ``{"code": ..., "error": ...}``."""
    code = ERROR_CODES.get(status, "Unknown error")
    return {"code": code, "error": message or DEFAULT_MESSAGES.get(status, code)}


def stream_error_event(status: int, message: str | None, number: int) -> dict[str, Any]:
    """A Responses stream ``error`` event carrying an HTTP status as its ``code``, in the
    shape xAI's TypeScript client types it (``src/types.ts`` ``StreamEvent``)."""
    text = message or DEFAULT_MESSAGES.get(status, ERROR_CODES.get(status, "Stream error"))
    return {
        "type": "error",
        "sequence_number": number,
        "code": status,
        "message": text,
        "param": None,
    }


def chat_stream_error(status: int, message: str | None) -> dict[str, Any]:
    """A chat stream chunk carrying an error in place of choices."""
    text = message or DEFAULT_MESSAGES.get(status, ERROR_CODES.get(status, "Stream error"))
    return {"error": {"message": text, "code": str(status)}}


def models_list() -> dict[str, Any]:
    """The body of GET /v1/models."""
    created = 1_735_689_600
    return {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": created, "owned_by": "xai"} for m in MODELS
        ],
    }


def function_call_item(call: ToolCall, arguments: str, call_id: str) -> dict[str, Any]:
    """A ``function_call`` output item."""
    return {
        "type": "function_call",
        "id": f"fc_{uuid.uuid4()}",
        "call_id": call_id,
        "name": call.name,
        "arguments": arguments,
        "status": "completed",
    }


def reasoning_item(response_id: str, summary: str) -> dict[str, Any]:
    """A ``reasoning`` output item with a summary."""
    return {
        "id": f"rs_{response_id}",
        "summary": [{"text": summary, "type": "summary_text"}],
        "type": "reasoning",
        "status": "completed",
    }


def search_item(response_id: str, search: Search) -> dict[str, Any]:
    """A server-side search item (reported, never run): ``web_search_call``, or an X search
    as a ``custom_tool_call`` (its arguments in ``input``) or an ``x_search_call``."""
    arguments = json.dumps(
        {"query": search.query, "num_results": max(1, len(search.results))}, separators=(",", ":")
    )
    name = SEARCH_TOOL_NAMES[search.kind]
    if search.item_type == "custom_tool_call":
        return {
            "type": "custom_tool_call",
            "id": f"fc_{response_id}_0",
            "call_id": f"xs_{response_id}_0",
            "name": name,
            "input": arguments,
            "status": "completed",
        }
    return {
        "arguments": arguments,
        "call_id": "",
        "name": name,
        "type": search.item_type,
        "id": f"fc_{response_id}_0",
        "status": "completed",
    }


def cited_text(text: str, search: Search | None) -> tuple[str, list[dict[str, Any]]]:
    """``text`` with a ``[[n]](url)`` marker per source, and its url_citation annotations."""
    if search is None:
        return text, []
    annotations = []
    for number, result in enumerate(search.results, start=1):
        text += " " if text else ""
        marker = f"[[{number}]]({result.url})"
        annotations.append(
            {
                "type": "url_citation",
                "url": result.url,
                "title": result.title or result.url,
                "start_index": len(text),
                "end_index": len(text) + len(marker),
            }
        )
        text += marker
    return text, annotations


def message_item(
    response_id: str, text: str, annotations: list[dict[str, Any]], status: str = "completed"
) -> dict[str, Any]:
    """An assistant ``message`` output item with one ``output_text`` part."""
    part = {"type": "output_text", "text": text, "logprobs": [], "annotations": annotations}
    return {
        "content": [part],
        "id": f"msg_{response_id}",
        "role": "assistant",
        "type": "message",
        "status": status,
    }


def output_items(response_id: str, turn: Turn, arguments: list[str]) -> list[dict[str, Any]]:
    """The output items of ``turn``; ``arguments`` holds each call's wire arguments."""
    items: list[dict[str, Any]] = []
    if turn.reasoning:
        items.append(reasoning_item(response_id, turn.reasoning))
    if turn.search_call is not None:
        items.append(search_item(response_id, turn.search_call))
    for index, remote in enumerate(turn.mcp_calls):
        items.append({"type": "mcp_call", "id": f"mcp_{response_id}_{index}",
                      "server_label": remote.server_label, "name": remote.name,
                      "arguments": json.dumps(remote.arguments), "output": remote.output,
                      "status": "completed"})  # fmt: skip
    for call, args in zip(turn.function_calls, arguments, strict=True):
        items.append(function_call_item(call, args, new_call_id()))
    if turn.answer is not None or not turn.function_calls:
        text, annotations = cited_text(turn.answer or "", turn.search_call)
        status = "incomplete" if turn.incomplete else "completed"
        items.append(message_item(response_id, text, annotations, status))
    return items


def response_object(
    response_id: str,
    request: dict[str, Any],
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    *,
    status: str = "completed",
    incomplete: str | None = None,
    created_at: int | None = None,
) -> dict[str, Any]:
    """A whole Responses object, echoing the request's fields as xAI does; ``incomplete`` is
    the reason an answer stopped short (its status is then ``incomplete``)."""
    reasoning = request.get("reasoning") or {}
    return {
        "created_at": created_at if created_at is not None else int(time.time()),
        "id": response_id,
        "max_output_tokens": request.get("max_output_tokens"),
        "model": request.get("model", ""),
        "object": "response",
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "temperature": request.get("temperature"),
        "text": request.get("text") or {"format": {"type": "text"}},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools") or [],
        "top_p": request.get("top_p"),
        "usage": usage,
        "user": request.get("user"),
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "status": "incomplete" if incomplete else status,
        "store": request.get("store", True),
        "metadata": request.get("metadata") or {},
    }


def output_text(output: list[dict[str, Any]]) -> str:
    """All output_text of the message items in ``output``."""
    parts: list[str] = []
    for item in output:
        if item.get("type") == "message":
            parts.extend(p.get("text", "") for p in item.get("content", []))
    return "".join(parts)
