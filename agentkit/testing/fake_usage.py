"""Plausible token usage and cost for fake answers, in both endpoints' shapes.

Tokens are counted from text at about four characters a token. Reasoning model names
also spend reasoning tokens. Cost is reported as ``cost_in_usd_ticks`` (1 USD = 10^10 ticks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

TICKS_PER_USD = 10_000_000_000
SERVER_TOOL_USD = 5.0 / 1000
X_ITEM_USD = 1.0 / 1000
"""The fake's price of one post or user an X search fetched: X search is billed per item
fetched (xAI's OpenAPI spec), at a rate the sources do not give; this one is made up."""

# USD per 1M tokens: input, cached input, output. Enough for plausible ticks; not a price list.
_PRICES: dict[str, tuple[float, float, float]] = {
    "grok-4": (3.0, 0.75, 15.0),
    "grok-4-0709": (3.0, 0.75, 15.0),
    "grok-4-1-fast": (0.20, 0.05, 0.50),
    "grok-4-fast": (0.20, 0.05, 0.50),
    "grok-code-fast-1": (0.20, 0.02, 1.50),
    "grok-3-mini": (0.30, 0.075, 0.50),
    "grok-4.3": (1.25, 0.20, 2.50),
}
_DEFAULT_PRICE = (0.20, 0.05, 0.50)
_REASONING_NAMES = ("grok-4", "grok-4-0709", "grok-3-mini", "grok-code-fast-1", "grok-4.3")


def count_tokens(value: Any) -> int:
    """About one token per four characters of ``value`` (JSON-encoded unless a string)."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return max(1, (len(text) + 3) // 4) if text else 0


def is_reasoning_model(model: str) -> bool:
    """Whether ``model`` spends reasoning tokens (by name, as xAI names them)."""
    if "non-reasoning" in model:
        return False
    return "reasoning" in model or model in _REASONING_NAMES or model.startswith("grok-4.")


def _price(model: str) -> tuple[float, float, float]:
    for prefix in sorted(_PRICES, key=len, reverse=True):
        if model.startswith(prefix):
            return _PRICES[prefix]
    return _DEFAULT_PRICE


@dataclass(frozen=True, slots=True)
class Tokens:
    """Token counts of one fake answer."""

    model: str
    input_tokens: int
    output_tokens: int
    """Visible output only; reasoning tokens are kept apart here."""
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    web_searches: int = 0
    x_searches: int = 0
    sources: int = 0
    x_posts_fetched: int = 0
    report_cost: bool = True
    """Whether the usage objects carry ``cost_in_usd_ticks``."""

    @classmethod
    def estimate(
        cls,
        model: str,
        prompt: Any,
        output: Any,
        *,
        web: int = 0,
        x: int = 0,
        sources: int = 0,
        reasoning: int | None = None,
    ) -> Tokens:
        """Count tokens of a prompt and an output for ``model``; an X search fetches one post
        per source it cites. Reasoning is ``reasoning`` tokens when given, else estimated."""
        out = count_tokens(output)
        if reasoning is None:
            reasoning = max(16, out * 2) if is_reasoning_model(model) else 0
        posts = sources if x else 0
        return cls(model, count_tokens(prompt), out, reasoning, 0, web, x, sources, posts)

    @property
    def server_tools(self) -> int:
        return self.web_searches + self.x_searches

    def cost_ticks(self) -> int:
        """Cost of these tokens and server-side tool calls, in USD ticks."""
        price_in, price_cached, price_out = _price(self.model)
        usd = (
            (self.input_tokens - self.cached_tokens) * price_in
            + self.cached_tokens * price_cached
            + (self.output_tokens + self.reasoning_tokens) * price_out
        ) / 1_000_000
        usd += self.web_searches * SERVER_TOOL_USD + self.x_posts_fetched * X_ITEM_USD
        return round(usd * TICKS_PER_USD)

    def responses_usage(self) -> dict[str, Any]:
        """The Responses API ``usage`` object (``output_tokens`` includes reasoning)."""
        output = self.output_tokens + self.reasoning_tokens
        usage: dict[str, Any] = {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.input_tokens + output,
            "num_sources_used": self.sources,
            "num_server_side_tools_used": self.server_tools,
        }
        if self.server_tools:
            usage["server_side_tool_usage_details"] = self._tool_details()
        if self.report_cost:
            usage["cost_in_usd_ticks"] = self.cost_ticks()
        return usage

    def chat_usage(self) -> dict[str, Any]:
        """The Chat Completions ``usage`` object (``completion_tokens`` excludes reasoning)."""
        total = self.input_tokens + self.output_tokens + self.reasoning_tokens
        usage = {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": self.output_tokens,
            "total_tokens": total,
            "prompt_tokens_details": {
                "text_tokens": self.input_tokens,
                "audio_tokens": 0,
                "image_tokens": 0,
                "cached_tokens": self.cached_tokens,
            },
            "completion_tokens_details": {
                "reasoning_tokens": self.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
            "num_sources_used": self.sources,
            "cost_in_usd_ticks": self.cost_ticks(),
        }
        if not self.report_cost:
            del usage["cost_in_usd_ticks"]
        return usage

    def _tool_details(self) -> dict[str, int]:
        """Every key of the OpenAPI ``ServerSideToolUsageDetails`` (all required)."""
        return {
            "web_search_calls": self.web_searches,
            "x_search_calls": self.x_searches,
            "x_posts_fetched": self.x_posts_fetched,
            "x_users_fetched": 0,
            "code_interpreter_calls": 0,
            "file_search_calls": 0,
            "mcp_calls": 0,
            "document_search_calls": 0,
            "image_generation_calls": 0,
        }
