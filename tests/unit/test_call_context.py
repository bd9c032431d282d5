"""Each tool call knows which call it serves: `idempotency_key()` is ``<run>:<call>``,
its own for every call of a turn even when they run at once, and None outside a call."""

from __future__ import annotations

import asyncio

from agentkit import Agent, AllowAll, current_call, idempotency_key, tool
from agentkit.testing import Script, Turn, scripted_client

SEEN: dict[int, str | None] = {}


class Desk(Agent):
    policy = AllowAll()

    @tool
    async def look(self, ticket: int) -> str:
        """Look a ticket up."""
        await asyncio.sleep(0.01 * (3 - ticket))  # finish out of order
        SEEN[ticket] = idempotency_key()
        call = current_call()
        assert call is not None
        assert idempotency_key() == f"{call.run_id}:{call.call_id}"
        return "ok"


def test_every_call_gets_its_own_key_and_nothing_outside_a_call_does() -> None:
    SEEN.clear()
    script = Script([Turn.calls([("look", {"ticket": t}) for t in (1, 2, 3)]), Turn.text("ok")])
    result = asyncio.run(Desk(client=scripted_client(script), audit=None).run("go", run_id="r9"))
    expected = {int(s.arguments["ticket"]): f"r9:{s.call_id}" for s in result.steps}
    assert expected == SEEN
    assert len(set(SEEN.values())) == 3
    assert idempotency_key() is None
    assert current_call() is None
