"""One normalised `Usage` per logical request, from either endpoint's usage object.

Responses counts reasoning inside `output_tokens`; Chat Completions reports it apart from
`completion_tokens`. Both normalise to the Responses convention.
"""

from __future__ import annotations

from typing import Any

from agentkit.model.pricing import PriceTable, ticks_to_usd
from agentkit.model.types import Endpoint, Usage


def _int(mapping: Any, key: str) -> int:
    if not isinstance(mapping, dict):
        return 0
    value = mapping.get(key)
    # bool is an int subclass; a boolean count is malformed
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


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
    )
    usage.total_tokens = _int(raw, "total_tokens") or usage.input_tokens + usage.output_tokens
    return usage


def normalise_usage(
    raw: Any, *, endpoint: Endpoint, request_id: str, model: str, prices: PriceTable
) -> Usage:
    """Usage with its cost: the API's ticks when given, else the price table."""
    if endpoint == "responses":
        usage = usage_from_responses(raw, request_id=request_id, model=model)
    else:
        usage = usage_from_chat(raw, request_id=request_id, model=model)
    ticks = _int(raw, "cost_in_usd_ticks")
    if ticks:
        usage.cost_usd = ticks_to_usd(ticks)
        usage.cost_source = "api"
        return usage
    tokens = prices.token_cost(
        model,
        input_tokens=usage.input_tokens,
        cached_tokens=usage.cached_tokens,
        output_tokens=usage.output_tokens,
    )
    if tokens is not None:
        details = raw.get("server_side_tool_usage_details") if isinstance(raw, dict) else None
        tool = prices.tool_cost(
            details if isinstance(details, dict) else None, usage.server_side_tool_calls
        )
        usage.cost_usd = tokens + tool
        usage.cost_source = "price_table"
    return usage
