"""Token and server-side tool prices, kept as data.

Used only when the API reports no cost (`cost_in_usd_ticks`, else `cost_in_nano_usd`). The
list drifts: override it with `PriceTable.default().with_prices({...})` or
`.with_tool_prices({...})` rather than editing code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

TICKS_PER_USD = 10_000_000_000
"""xAI reports costs in ticks: 1 USD = 10^10 ticks."""
NANO_USD_PER_USD = 1_000_000_000
"""`cost_in_nano_usd`, which xAI may send in place of ticks: 1 USD = 10^9."""


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float
    cached_input: float
    output: float


DEFAULT_PRICES: Mapping[str, Price] = {
    "grok-4-0709": Price(3.00, 0.75, 15.00),
    "grok-4": Price(3.00, 0.75, 15.00),
    "grok-4-latest": Price(3.00, 0.75, 15.00),
    "grok-4-1-fast-reasoning": Price(0.20, 0.05, 0.50),
    "grok-4-1-fast-non-reasoning": Price(0.20, 0.05, 0.50),
    "grok-code-fast-1": Price(0.20, 0.02, 1.50),
    "grok-3-mini": Price(0.30, 0.075, 0.50),
    "grok-4.3": Price(1.25, 0.20, 2.50),
}
"""Model -> token prices (USD per 1M tokens: input / cached input / output)."""

DEFAULT_TOOL_PRICES: Mapping[str, float] = {
    "web_search_calls": 0.005,
    "x_search_calls": 0.005,
    "code_interpreter_calls": 0.005,
    "file_search_calls": 0.0025,
}
"""`server_side_tool_usage_details` key -> USD per call (or per item, for the X item keys)."""

X_ITEM_KEYS = frozenset({"x_posts_fetched", "x_users_fetched"})
"""X search is billed per item fetched (xAI's OpenAPI `ServerSideToolUsageDetails`), at a
price no source gives: no default is shipped. Where these counts are reported they replace
the per-call price of `x_search_calls`; without a price for them a cost cannot be computed."""

DEFAULT_TOOL_CALL_PRICE = 0.005
"""USD per server-side call when the API gives only a total count."""


class PriceTable:
    """Computes a request's cost from its token counts when the API gives none."""

    __slots__ = ("_prices", "_tools")

    def __init__(
        self,
        prices: Mapping[str, Price],
        tool_prices: Mapping[str, float] = DEFAULT_TOOL_PRICES,
    ) -> None:
        """Build from model -> `Price` and server-side tool -> USD per call."""
        self._prices = dict(prices)
        self._tools = dict(tool_prices)

    @classmethod
    def default(cls) -> PriceTable:
        """The prices shipped with agentkit."""
        return cls(DEFAULT_PRICES)

    def with_prices(self, prices: Mapping[str, Price]) -> PriceTable:
        """A copy with `prices` added or replacing existing entries."""
        return PriceTable({**self._prices, **prices}, self._tools)

    def with_tool_prices(self, prices: Mapping[str, float]) -> PriceTable:
        """A copy with server-side tool prices (USD per call or per fetched item) added or
        replaced, e.g. ``{"x_posts_fetched": ..., "x_users_fetched": ...}``."""
        return PriceTable(self._prices, {**self._tools, **prices})

    def price(self, model: str) -> Price | None:
        """The token price of `model`, or None when unknown."""
        return self._prices.get(model)

    def token_cost(
        self, model: str, *, input_tokens: int, cached_tokens: int, output_tokens: int
    ) -> float | None:
        """USD for the tokens of one request, or None when the model has no price."""
        price = self._prices.get(model)
        if price is None:
            return None
        uncached = max(input_tokens - cached_tokens, 0)
        micro = uncached * price.input + cached_tokens * price.cached_input
        return (micro + output_tokens * price.output) / 1_000_000

    def tool_cost(self, details: Mapping[str, int] | None, total_calls: int) -> float | None:
        """USD for server-side tool use, itemised when the API itemises it (`details`; None
        when it does not); None when X items were fetched and this table has no price for them."""
        if details is None:
            return total_calls * DEFAULT_TOOL_CALL_PRICE
        per_item = any(details.get(key, 0) > 0 for key in X_ITEM_KEYS)
        cost = 0.0
        for key, count in details.items():
            if key in X_ITEM_KEYS:
                price = self._tools.get(key)
                if price is None:
                    return None
                cost += count * price
            elif not (key == "x_search_calls" and per_item):  # billed by what it fetched
                cost += count * self._tools.get(key, DEFAULT_TOOL_CALL_PRICE)
        return cost


def ticks_to_usd(ticks: int) -> float:
    """Convert xAI's `cost_in_usd_ticks` to dollars."""
    return ticks / TICKS_PER_USD


def nano_to_usd(nano: int) -> float:
    """Convert xAI's `cost_in_nano_usd` to dollars."""
    return nano / NANO_USD_PER_USD
