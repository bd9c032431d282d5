"""What a tool says it spent (``ToolOutput(metadata={"cost_usd": ...})``) joins the run's
cost and so its budget; a figure that could only hide spending is ignored."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agentkit.decision import AllowAll, Principal
from agentkit.pipeline.authorise import RecentCalls
from agentkit.pipeline.runner import Runner
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.scripted_client import scripted_client
from agentkit.tool import Tool, ToolOutput

figures = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-10, max_value=10),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
)


def _runner(cost: Any) -> Runner:
    async def paid(n: int) -> ToolOutput:
        """A tool that reports a spend."""
        return ToolOutput(f"made {n}", metadata={"cost_usd": cost})

    fake = FakeXAI(Script([Turn.call("paid", {"n": 1}), Turn.text("done")]))
    return Runner(rate_window=RecentCalls(), client=scripted_client(fake), model="grok-4",
                  tools=[Tool(paid)], authoriser=AllowAll(), audit=None)  # fmt: skip


@given(figures)
async def test_only_a_positive_finite_spend_is_added(cost: Any) -> None:
    run = await _runner(cost).start("go", principal=Principal(user_id="ana"))
    counts = isinstance(cost, int | float) and not isinstance(cost, bool) and 0 < cost < math.inf
    assert run.totals.tool_cost_usd == (cost if counts else 0.0)
    assert run.totals.cost_usd >= run.totals.tool_cost_usd
