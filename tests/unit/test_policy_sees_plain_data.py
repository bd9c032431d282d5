"""The policy, approvals and audit see a call's arguments as plain JSON, whatever the types."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agentkit import Agent, Principal, tool
from agentkit.policy import Policy
from agentkit.testing import Turn, scripted_client

POLICY = """
version: 1
lists: {payees: {values: [DE89370400440532013000]}}
tools:
  pay:
    side_effect: financial
    action: allow
    args:
      payee.iban: {in_list: payees}
      payment.amount: {maximum: 100}
  pay_flat:
    side_effect: financial
    action: allow
    args:
      iban: {in_list: payees}
      amount: {maximum: 100}
  wipe: {side_effect: destructive, action: confirm}
"""


class Payee(BaseModel):
    iban: str


class Payment(BaseModel):
    amount: float
    currency: str


class Wiped(BaseModel):
    name: str


class Payer(Agent):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.paid: list[tuple[str, float]] = []

    @tool(side_effect="financial")
    async def pay(self, payee: Payee, payment: Payment) -> str:
        """Pay with models."""
        self.paid.append((payee.iban, payment.amount))
        return "paid"

    @tool(side_effect="financial")
    async def pay_flat(self, iban: str, amount: float, currency: str) -> str:
        """Pay with plain values."""
        self.paid.append((iban, amount))
        return "paid"

    @tool(destructive=True)
    async def wipe(self, target: Wiped) -> str:
        """Wipe."""
        return f"wiped {target.name}"


@settings(max_examples=60, deadline=None)
@given(
    iban=st.sampled_from(["DE89370400440532013000", "GB33BUKB20201555555555"]),
    amount=st.sampled_from([1, 100, 100.5, 99999]),
)
def test_nested_model_arguments_are_decided_exactly_like_the_same_plain_ones(
    iban: str, amount: float
) -> None:
    import asyncio

    nested = {"payee": {"iban": iban}, "payment": {"amount": amount, "currency": "EUR"}}
    flat = {"iban": iban, "amount": amount, "currency": "EUR"}
    agent = Payer(
        client=scripted_client([Turn.calls([("pay", nested), ("pay_flat", flat)]), Turn.text("x")]),
        policy=Policy.from_yaml(POLICY),
        principal=Principal(user_id="u"),
    )
    result = asyncio.run(agent.run("pay"))
    pay, pay_flat = result.steps
    assert pay.decision is not None
    assert pay_flat.decision is not None
    assert pay.decision.action == pay_flat.decision.action
    allowed = iban.startswith("DE89") and amount <= 100
    assert pay.decision.action == ("allow" if allowed else "deny")
    assert agent.paid == ([(iban, float(amount))] * 2 if allowed else [])
    assert pay.arguments == nested, "the run state keeps plain JSON"


async def test_a_destructive_tool_with_a_model_parameter_pauses_and_resumes() -> None:
    agent = Payer(
        client=scripted_client([Turn.call("wipe", {"target": {"name": "cache"}}), Turn.text("ok")]),
        policy=Policy.from_yaml(POLICY),
        principal=Principal(user_id="u"),
    )
    paused = await agent.run("wipe the cache")
    [pending] = paused.pending
    assert pending.arguments == {"target": {"name": "cache"}}
    done = await agent.resume(paused, {pending.approval_id: True})
    assert done.steps[0].output == "wiped cache"
