"""`/v1/responses`: request bodies from `ModelRequest`, `ModelResponse` from bodies.

Plain dicts on purpose: this runs once per model turn and must stay cheap.
"""

from __future__ import annotations

import json
from typing import Any

from agentkit.errors import ModelBehaviorError
from agentkit.errors import ResponseFailed as ResponseFailed
from agentkit.model.pricing import PriceTable
from agentkit.model.types import (
    Citation,
    FunctionCall,
    Item,
    ModelRequest,
    ModelResponse,
    ServerToolCall,
)
from agentkit.model.usage import normalise_usage

X_SEARCH_CALL_NAMES = frozenset(
    {"x_keyword_search", "x_semantic_search", "x_user_search", "x_thread_fetch"}
)
"""The searches xAI's `x_search` tool runs. xAI sends them as `custom_tool_call` items
named after the search (xai-sdk-ts `src/constants.ts`: "The API sends X search calls as
`custom_tool_call` items"), so the item type alone does not name the tool."""

_OPTIONAL_FIELDS = (
    "instructions",
    "previous_response_id",
    "store",
    "max_output_tokens",
    "temperature",
    "top_p",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "stop",
    "user",
    "metadata",
    "prompt_cache_key",
)


def build_responses_body(request: ModelRequest, *, reasoning_model: bool | None) -> dict[str, Any]:
    """The JSON body of `POST /v1/responses` for `request`."""
    body: dict[str, Any] = {
        "model": request.model,
        "input": request.input,
        "tool_choice": request.tool_choice,
        # sent even when true: one server path reads a missing value as false
        "parallel_tool_calls": request.parallel_tool_calls,
    }
    if request.tools:
        body["tools"] = request.tools
    for name in _OPTIONAL_FIELDS:
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.reasoning_effort is not None:
        body["reasoning"] = {"effort": request.reasoning_effort}
    if request.text_format is not None:
        body["text"] = {"format": request.text_format}
    if request.store is False and reasoning_model:
        # without server-side storage the reasoning must travel with the conversation
        body["include"] = ["reasoning.encrypted_content"]
    if request.stream:
        body["stream"] = True
    return body


def _str(item: Item, key: str, what: str, default: str | None = None) -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        raise ModelBehaviorError(f"malformed response: {what} has no string {key!r}")
    return value


def _message_parts(item: Item, texts: list[str], citations: list[Citation]) -> None:
    content = item.get("content", [])
    if isinstance(content, str):
        texts.append(content)
        return
    if not isinstance(content, list):
        raise ModelBehaviorError("malformed response: message content is not a list")
    for part in content:
        if not isinstance(part, dict):
            raise ModelBehaviorError("malformed response: message content part is not an object")
        if part.get("type") == "output_text":
            texts.append(_str(part, "text", "output_text part"))
            citations.extend(_citations(part.get("annotations")))


def _citations(annotations: Any) -> list[Citation]:
    found: list[Citation] = []
    if not isinstance(annotations, list):
        return found
    for note in annotations:
        if isinstance(note, dict) and note.get("type") == "url_citation":
            url = note.get("url")
            if isinstance(url, str):
                title, start, end = (
                    note.get("title"),
                    note.get("start_index"),
                    note.get("end_index"),
                )
                found.append(
                    Citation(
                        url=url,
                        title=title if isinstance(title, str) else None,
                        start_index=start if isinstance(start, int) else None,
                        end_index=end if isinstance(end, int) else None,
                    )
                )
    return found


def _summary(item: Item) -> list[str]:
    summary = item.get("summary")
    if not isinstance(summary, list):
        return []
    return [
        part["text"]
        for part in summary
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    ]


def _text(item: Item, key: str, default: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) else default


def server_tool_of(kind: str, name: str) -> str:
    """The `tools` entry type behind a server-side item: `web_search_call` -> `web_search`;
    a `custom_tool_call` running an X search -> `x_search`. Any other `custom_tool_call` is
    `custom_tool`, which no request offers: it never borrows another tool's decision."""
    if kind == "custom_tool_call" and name in X_SEARCH_CALL_NAMES:
        return "x_search"
    return kind.removesuffix("_call")


def _server_call(item: Item, kind: str) -> ServerToolCall:
    if kind == "file_search_call":
        return _file_search_call(item)
    if kind == "mcp_call":
        return _mcp_call(item)
    args = item.get("arguments", item.get("input", ""))
    name = _text(item, "name", kind.removesuffix("_call"))
    return ServerToolCall(
        type=kind,
        name=name,
        arguments=args if isinstance(args, str) else json.dumps(args),
        id=_text(item, "id", ""),
        status=_text(item, "status", ""),
        tool=server_tool_of(kind, name),
    )


def _mcp_call(item: Item) -> ServerToolCall:
    """A call xAI made to a remote MCP server: named ``<server_label>.<tool>``, as the
    policy names it; its output (or error) kept, untrusted."""
    name = _text(item, "name", "")
    args = item.get("arguments", "")
    error = item.get("error")
    output = _text(item, "output", "") or (error if isinstance(error, str) else "")
    if isinstance(error, dict):
        output = json.dumps(error)
    return ServerToolCall(
        type="mcp_call",
        name=name,
        arguments=args if isinstance(args, str) else json.dumps(args),
        id=_text(item, "id", ""),
        status=_text(item, "status", ""),
        tool=f"{_text(item, 'server_label', 'mcp')}.{name}",
        output=output,
    )


def _file_search_call(item: Item) -> ServerToolCall:
    """A file_search_call: its queries as the arguments, its results kept (each field
    checked for its type; anything else in a result is dropped)."""
    queries = [q for q in item.get("queries") or [] if isinstance(q, str)]
    results = []
    for found in item.get("results") or []:
        if not isinstance(found, dict):
            continue
        score = found.get("score")
        results.append({
            "file_id": _text(found, "file_id", ""),
            "filename": _text(found, "filename", ""),
            "score": float(score) if isinstance(score, int | float) else None,
            "text": _text(found, "text", ""),
        })  # fmt: skip
    return ServerToolCall(
        type="file_search_call",
        name="file_search",
        arguments=json.dumps({"queries": queries}),
        id=_text(item, "id", ""),
        status=_text(item, "status", ""),
        tool="file_search",
        results=tuple(results),
    )


def parse_output(output: Any, response: ModelResponse) -> None:
    """Fill the parsed views of `response` from its Responses output items."""
    if not isinstance(output, list):
        raise ModelBehaviorError("malformed response: 'output' is not a list")
    texts: list[str] = []
    summaries: list[str] = []
    for item in output:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise ModelBehaviorError("malformed response: an output item has no 'type'")
        kind = item["type"]
        if kind == "function_call":
            response.function_calls.append(
                FunctionCall(
                    call_id=_str(item, "call_id", "function_call"),
                    name=_str(item, "name", "function_call"),
                    arguments=_str(item, "arguments", "function_call"),
                    item_id=_str(item, "id", "function_call", ""),
                )
            )
        elif kind == "message":
            _message_parts(item, texts, response.citations)
        elif kind == "reasoning":
            summaries.extend(_summary(item))
        elif kind.endswith("_call"):
            response.server_tool_calls.append(_server_call(item, kind))
    response.output = output
    response.text = "".join(texts)
    response.reasoning_summary = "\n\n".join(summaries)


def parse_responses_body(
    body: Any, *, request_id: str, prices: PriceTable, fallback_model: str
) -> ModelResponse:
    """A `ModelResponse` from a `/v1/responses` body (or a `response.completed` payload)."""
    if not isinstance(body, dict):
        raise ModelBehaviorError("malformed response: the body is not a JSON object")
    response_id = body.get("id")
    if not isinstance(response_id, str):
        raise ModelBehaviorError("malformed response: no string 'id'")
    model = body.get("model")
    model = model if isinstance(model, str) and model else fallback_model
    status = body.get("status", "completed")
    if not isinstance(status, str):
        raise ModelBehaviorError("malformed response: 'status' is not a string")
    if status == "failed":
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        raise ResponseFailed(
            f"the model failed to respond: {message or 'no reason given'} (request {request_id})",
            request_id=request_id,
        )
    usage = normalise_usage(
        body.get("usage"), endpoint="responses", request_id=request_id, model=model, prices=prices
    )
    usage.status = status
    response = ModelResponse(
        id=response_id, model=model, status=status, output=[], usage=usage, request_id=request_id
    )
    parse_output(body.get("output"), response)
    if status == "incomplete":
        response.incomplete_reason = _incomplete_reason(body.get("incomplete_details"))
    return response


def _incomplete_reason(details: Any) -> str | None:
    reason = details.get("reason") if isinstance(details, dict) else None
    return reason if isinstance(reason, str) and reason else None
