"""One normalised `Usage` per logical request, from either endpoint's usage object.

Responses counts reasoning inside `output_tokens`; Chat Completions reports it apart from
`completion_tokens`. Both normalise to the Responses convention. The cost is the API's own
wherever it reports one (`cost_in_usd_ticks`, else `cost_in_nano_usd`), else computed.
"""

from __future__ import annotations

from typing import Any

from agentkit.model.pricing import PriceTable, nano_to_usd, ticks_to_usd
from agentkit.model.types import Endpoint, Usage


def _int(mapping: Any, key: str) -> int:
    if not isinstance(mapping, dict):
        return 0
    value = mapping.get(key)
    # bool is an int subclass; a boolean count is malformed
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def tool_usage(raw: Any) -> dict[str, int]:
    """The positive counts of `server_side_tool_usage_details` (`web_search_calls`,
    `x_posts_fetched`, ...), as reported."""
    details = raw.get("server_side_tool_usage_details") if isinstance(raw, dict) else None
    if not isinstance(details, dict):
        return {}
    return {str(key): count for key in details if (count := _int(details, key))}


def usage_from_responses(raw: Any, *, request_id: str, model: str) -> Usage:
    """Normalise a `/v1/responses` usage object (missing or partial: zeros)."""
    input_details = raw.get("input_tokens_details") if isinstance(raw, dict) else None
    output_details = raw.get("output_tokens_details") if isinstance(raw, dict) else None
    usage = Usage(
        request_id=request_id,
        model=model,
        endpoint="responses",
        input_tokens=_int(raw, "input_tokens"),
        output_tokens=_int(raw, "output_tokens"),
        reasoning_tokens=_int(output_details, "reasoning_tokens"),
        cached_tokens=_int(input_details, "cached_tokens"),
        image_tokens=_int(input_details, "image_tokens"),
        server_side_tool_calls=_int(raw, "num_server_side_tools_used"),
        server_tool_usage=tool_usage(raw),
    )
    usage.total_tokens = _int(raw, "total_tokens") or usage.input_tokens + usage.output_tokens
    return usage


def usage_from_chat(raw: Any, *, request_id: str, model: str) -> Usage:
    """Normalise a `/v1/chat/completions` usage object; output tokens gain reasoning."""
    prompt_details = raw.get("prompt_tokens_details") if isinstance(raw, dict) else None
    completion_details = raw.get("completion_tokens_details") if isinstance(raw, dict) else None
    reasoning = _int(completion_details, "reasoning_tokens")
    usage = Usage(
        request_id=request_id,
        model=model,
        endpoint="chat",
        input_tokens=_int(raw, "prompt_tokens"),
        output_tokens=_int(raw, "completion_tokens") + reasoning,
        reasoning_tokens=reasoning,
        cached_tokens=_int(prompt_details, "cached_tokens"),
        image_tokens=_int(prompt_details, "image_tokens"),
        server_side_tool_calls=_int(raw, "num_server_side_tools_used"),
        server_tool_usage=tool_usage(raw),
    )
    usage.total_tokens = _int(raw, "total_tokens") or usage.input_tokens + usage.output_tokens
    return usage


def normalise_usage(
    raw: Any, *, endpoint: Endpoint, request_id: str, model: str, prices: PriceTable
) -> Usage:
    """Usage with its cost: the API's (ticks, else nano-dollars) when given, else the price
    table's; `cost_source="unknown"` when neither can say (a model or an X item without a
    price), `cost_usd` then holding only what could be priced."""
    if endpoint == "responses":
        usage = usage_from_responses(raw, request_id=request_id, model=model)
    else:
        usage = usage_from_chat(raw, request_id=request_id, model=model)
    ticks, nano = _int(raw, "cost_in_usd_ticks"), _int(raw, "cost_in_nano_usd")
    if ticks or nano:
        usage.cost_usd = ticks_to_usd(ticks) if ticks else nano_to_usd(nano)
        usage.cost_source = "api"
        return usage
    tokens = prices.token_cost(
        model,
        input_tokens=usage.input_tokens,
        cached_tokens=usage.cached_tokens,
        output_tokens=usage.output_tokens,
    )
    itemised = isinstance(raw, dict) and isinstance(raw.get("server_side_tool_usage_details"), dict)
    tool = prices.tool_cost(
        usage.server_tool_usage if itemised else None, usage.server_side_tool_calls
    )
    usage.cost_usd = (tokens or 0.0) + (tool or 0.0)
    if tokens is not None and tool is not None:
        usage.cost_source = "price_table"
    return usage
