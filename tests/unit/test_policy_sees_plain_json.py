"""Types pydantic converts (Decimal, Enum, datetime, date, UUID) reach the policy as the JSON
the model sent, with JSON Schema types: over the values a model can send, a real run decides
exactly as the policy does on that JSON, never crashes, and numeric and text keywords check
their own type (a number sent as text does not slip past ``maximum``)."""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import Agent, Principal, Tool
from agentkit.policy import Policy
from agentkit.testing import Turn, scripted_client


class Color(str, enum.Enum):  # noqa: UP042 - the form whose str() is 'Color.RED'
    RED = "red"
    GREEN = "green"


class Size(enum.IntEnum):
    S = 1
    M = 2


def order(amount: Decimal, color: Color, size: Size, when: datetime, day: date, ref: UUID) -> str:
    """Place an order.

    Args:
        amount: The price.
        color: The colour.
        size: The size.
        when: Delivery time.
        day: Delivery day.
        ref: Order reference.
    """
    return f"ordered {amount} {color.value} {size.value} {when:%Y} {day:%Y} {ref.hex[:2]}"


POLICY = Policy.from_yaml(
    """
version: 1
lists:
  banned: {values: [red]}
tools:
  order:
    action: allow
    args:
      amount: {multipleOf: 0.01, maximum: 100}
      color: {not_in_list: banned}
      size: {maximum: 1}
      when: {pattern: "^2026-"}
      day: {pattern: "^2026-"}
      ref: {pattern: "^0"}
"""
)
PRINCIPAL = Principal(user_id="ana")

amounts = st.one_of(
    st.integers(-5, 200),
    st.decimals(min_value=-5, max_value=200, places=3).map(float),
    st.decimals(min_value=-5, max_value=200, places=3).map(str),  # a number sent as text
    st.sampled_from([0.07, 0.29, 99.99, 100.01, "1000000", "0.015"]),
)
arguments = st.fixed_dictionaries(
    {
        "amount": amounts,
        "color": st.sampled_from(["red", "green"]),
        "size": st.sampled_from([1, 2]),
        "when": st.sampled_from(["2026-03-01T10:00:00Z", "2025-03-01T10:00:00+02:00"]),
        "day": st.sampled_from(["2026-03-01", "2025-12-31"]),
        "ref": st.uuids().map(str),
    }
)


def run_once(args: dict[str, Any]) -> tuple[str, str | None]:
    agent = Agent(
        client=scripted_client([Turn.call("order", json.dumps(args)), Turn.text("done")]),
        tools=[Tool(order)],
        policy=POLICY,
        principal=PRINCIPAL,
    )
    result = agent.run_sync("order")
    (step,) = result.steps
    if step.decision is None:
        return step.status, None
    return step.decision.action, step.decision.rule


def expected(args: dict[str, Any]) -> tuple[str, str | None]:
    """An oracle written from the policy's meaning, not its code."""
    amount = args["amount"]
    if not isinstance(amount, int | float):
        return "deny", "tools.order.args.amount"  # maximum checks numbers: text is refused
    if Decimal(str(amount)) % Decimal("0.01") != 0 or amount > 100:
        return "deny", "tools.order.args.amount"
    if args["color"] == "red":
        return "deny", "tools.order.args.color"
    if args["size"] > 1:
        return "deny", "tools.order.args.size"
    if not args["when"].startswith("2026-"):
        return "deny", "tools.order.args.when"
    if not args["day"].startswith("2026-"):
        return "deny", "tools.order.args.day"
    if not args["ref"].startswith("0"):
        return "deny", "tools.order.args.ref"
    return "allow", "tools.order"


def policy_view(args: dict[str, Any]) -> tuple[str, str | None]:
    d = POLICY.explain("order", args, principal=PRINCIPAL)
    return d.action, d.rule


@settings(max_examples=150, deadline=None)
@given(arguments)
def test_a_run_decides_on_the_json_the_model_sent(args: dict[str, Any]) -> None:
    got = run_once(args)
    assert got == policy_view(args)
    assert got == expected(args)


def test_the_examples_of_the_report() -> None:
    base = {
        "amount": 0.07,
        "color": "green",
        "size": 1,
        "when": "2026-01-01T00:00:00Z",
        "day": "2026-01-01",
        "ref": "0" * 32,
    }
    assert run_once(base) == ("allow", "tools.order")  # 0.07 is a multiple of 0.01
    assert run_once({**base, "color": "red"}) == ("deny", "tools.order.args.color")
    assert run_once({**base, "amount": "1000000"}) == ("deny", "tools.order.args.amount")
    assert run_once({**base, "when": "2025-01-01T00:00:00Z"}) == ("deny", "tools.order.args.when")
    assert run_once({**base, "ref": "f" * 32}) == ("deny", "tools.order.args.ref")
