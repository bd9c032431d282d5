"""Provenance: error texts vouch for nothing, a digit group is not a number, empty is no value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit import Agent, Principal, tool
from agentkit.policy import Policy
from agentkit.policy.dataflow import appears_in, normalise
from agentkit.testing import Turn, scripted_client

POLICY = """
version: 1
tools:
  lookup: {side_effect: read, action: allow}
  close:
    side_effect: write
    action: allow
    args:
      ticket: {provenance: {user: false, tools: [lookup]}}
  pay:
    side_effect: write
    action: allow
    args:
      account: {normalise: account, provenance: {user: true}}
"""


class Desk(Agent):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.closed: list[int] = []
        self.paid: list[str] = []

    @tool
    async def lookup(self, ticket: int) -> str:
        """Look up a ticket."""
        if ticket == 666:
            raise LookupError(f"no ticket {ticket}")
        return f"ticket {ticket}: disk full"

    @tool(side_effect="write")
    async def close(self, ticket: int) -> str:
        """Close a ticket."""
        self.closed.append(ticket)
        return "closed"

    @tool(side_effect="write")
    async def pay(self, account: str) -> str:
        """Pay an account."""
        self.paid.append(account)
        return "paid"


def desk(turns: list[Turn]) -> Desk:
    return Desk(
        client=scripted_client(turns), policy=Policy.from_yaml(POLICY), principal=Principal()
    )


@pytest.mark.parametrize(("ticket", "closed"), [(666, False), (42, True)])
async def test_a_failed_lookup_s_error_text_is_no_source_for_a_value(
    ticket: int, closed: bool
) -> None:
    agent = desk(
        [
            Turn.call("lookup", {"ticket": ticket}),
            Turn.call("close", {"ticket": ticket}),
            Turn.text("done"),
        ]
    )
    result = await agent.run("have a look")
    close = result.steps[-1]
    assert close.decision is not None
    assert (close.decision.action == "allow") is closed
    assert agent.closed == ([ticket] if closed else [])


@given(
    first=st.from_regex(r"[1-9][0-9]{2,5}", fullmatch=True),
    second=st.from_regex(r"[0-9]{3,6}", fullmatch=True),
    separator=st.sampled_from(["-", " ", " - ", "  "]),
)
def test_one_group_of_a_grouped_number_is_not_that_number(
    first: str, second: str, separator: str
) -> None:
    text = f"please pay {first}{separator}{second} today"
    assert not appears_in("account", normalise("account", second), text)
    assert not appears_in("account", normalise("account", first), text)
    assert appears_in("account", normalise("account", first + second), text)


@pytest.mark.parametrize("value", ["", "   ", "-", " - "])
async def test_a_value_that_normalises_to_nothing_has_no_source(value: str) -> None:
    agent = desk([Turn.call("pay", {"account": value}), Turn.text("done")])
    result = await agent.run("pay my landlord")
    [step] = result.steps
    assert step.status == "denied"
    assert agent.paid == []


async def test_a_grouped_number_the_user_wrote_is_accepted_whole_and_refused_in_part() -> None:
    agent = desk(
        [
            Turn.calls([("pay", {"account": "12345678"}), ("pay", {"account": "5678"})]),
            Turn.text("done"),
        ]
    )
    result = await agent.run("pay account 1234-5678")
    whole, part = result.steps
    assert whole.status == "ok"
    assert part.status == "denied"
    assert agent.paid == ["12345678"]
