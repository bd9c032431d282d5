"""What a request cost, and what a cost budget can rely on.

xAI's own figure is preferred wherever it is present (`cost_in_usd_ticks`, else
`cost_in_nano_usd`); X search is billed per item fetched (`x_posts_fetched`,
`x_users_fetched`), at a price no source gives, so without xAI's figure its cost is
unknown; and a budget never trusts `max_output_tokens`, which bounds visible output only.
"""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent, RunConfig, tool
from agentkit.errors import BudgetExceeded
from agentkit.model import Price, PriceTable
from agentkit.model.usage import normalise_usage
from agentkit.run_limits import RunLimits
from agentkit.testing import FakeXAI, Script, Turn, scripted_client

PRICES = PriceTable.default()
X_SEARCH = {
    "input_tokens": 1_000_000,
    "output_tokens": 0,
    "num_server_side_tools_used": 1,
    "server_side_tool_usage_details": {
        "web_search_calls": 0,
        "x_search_calls": 1,
        "x_posts_fetched": 40,
        "x_users_fetched": 2,
    },
}


def usage_of(raw: dict[str, Any], prices: PriceTable = PRICES, model: str = "grok-4") -> Any:
    return normalise_usage(raw, endpoint="responses", request_id="r", model=model, prices=prices)


def test_xais_cost_wins_ticks_first_then_nano_dollars() -> None:
    both = usage_of(
        {"output_tokens": 10**6, "cost_in_usd_ticks": 25 * 10**8, "cost_in_nano_usd": 1}
    )
    nano = usage_of({"output_tokens": 10**6, "cost_in_nano_usd": 250_000_000})
    assert (both.cost_usd, both.cost_source) == (0.25, "api")
    assert (nano.cost_usd, nano.cost_source) == (0.25, "api")  # not 15.0 from the price table


def test_x_items_fetched_are_reported_and_xais_cost_covers_them() -> None:
    usage = usage_of({**X_SEARCH, "cost_in_usd_ticks": 4 * 10**10})
    assert usage.server_tool_usage == {
        "x_search_calls": 1,
        "x_posts_fetched": 40,
        "x_users_fetched": 2,
    }
    assert (usage.cost_usd, usage.cost_source) == (4.0, "api")


def test_without_xais_cost_x_items_are_unknown_until_priced() -> None:
    unpriced = usage_of(X_SEARCH)
    assert unpriced.cost_source == "unknown"
    assert unpriced.cost_usd == 3.0  # the tokens it could price: at least this much
    priced = usage_of(
        X_SEARCH, PRICES.with_tool_prices({"x_posts_fetched": 0.01, "x_users_fetched": 0.02})
    )
    assert priced.cost_source == "price_table"
    # per item, and not again per call: 3.0 + 40 * 0.01 + 2 * 0.02
    assert priced.cost_usd == pytest.approx(3.44)


def test_x_search_calls_without_item_counts_keep_their_per_call_price() -> None:
    raw = {"server_side_tool_usage_details": {"x_search_calls": 2, "web_search_calls": 1}}
    assert usage_of(raw).cost_usd == pytest.approx(3 * 0.005)


def test_reasoning_tokens_are_priced_as_output() -> None:
    raw = {"output_tokens": 1_000_010, "output_tokens_details": {"reasoning_tokens": 10**6}}
    prices = PRICES.with_prices({"m": Price(input=0.0, cached_input=0.0, output=2.0)})
    assert usage_of(raw, prices, model="m").cost_usd == pytest.approx(2.00002)


def test_a_budget_cannot_be_kept_past_a_response_of_unknown_cost() -> None:
    limits = RunLimits(max_cost_usd=5.0)
    limits.check_before_request("r1", 1, 0.1, unpriced=0)
    with pytest.raises(BudgetExceeded) as info:
        limits.check_before_request("r1", 1, 0.1, unpriced=1)
    assert str(info.value).startswith("run r1 cannot keep to its $5.0000 budget: 1 response(s)")
    assert (info.value.limit, info.value.value) == ("max_cost_usd", 5.0)
    RunLimits().check_before_request("r1", 1, 0.1, unpriced=3)  # no budget, nothing to keep


# --- through a run ------------------------------------------------------------------------


class Lookup(Agent):
    @tool
    async def lookup(self, key: str) -> str:
        """Look a key up.

        Args:
            key: The key.
        """
        return "found"


def two_turns(**turn: Any) -> Script:
    return Script([Turn(Turn.call("lookup", {"key": "k"}).function_calls, **turn), Turn.text("ok")])


@pytest.mark.parametrize("report_cost", [True, False])
async def test_a_budget_counts_reasoning_that_max_output_tokens_does_not_cap(
    report_cost: bool,
) -> None:
    # 200k reasoning tokens on grok-4 ($15 / 1M output) cost about $3, whatever the cap
    fake = FakeXAI(two_turns(reasoning_tokens=200_000), report_cost=report_cost)
    config = RunConfig(max_cost_usd=1.0, request_options={"max_output_tokens": 16})
    agent = Lookup(client=scripted_client(fake), model="grok-4", config=config)
    with pytest.raises(BudgetExceeded, match="spent") as info:
        await agent.run("look k up")
    run = info.value.run
    assert run is not None
    assert run.totals.reasoning_tokens == 200_000
    assert run.totals.cost_usd > 3.0
    assert fake.requests[0].json["max_output_tokens"] == 16
    assert fake.count() == 1  # the second request never went
    [step] = run.steps
    assert step.status == "denied"  # the call past the budget did not run
    assert step.decision is not None
    assert step.decision.rule == "run_limits.max_cost_usd"


async def test_a_run_with_a_budget_stops_when_a_response_has_no_known_cost() -> None:
    fake = FakeXAI(two_turns(), report_cost=False)
    agent = Lookup(
        client=scripted_client(fake), model="grok-9-preview", config=RunConfig(max_cost_usd=1.0)
    )
    with pytest.raises(BudgetExceeded, match="cannot keep to its") as info:
        await agent.run("look k up")
    assert fake.count() == 1
    run = info.value.run
    assert run is not None
    assert run.usage[0]["cost_source"] == "unknown"
    unbudgeted = Lookup(
        client=scripted_client(FakeXAI(two_turns(), report_cost=False)), model="grok-9-preview"
    )
    assert (await unbudgeted.run("look k up")).status == "completed"
