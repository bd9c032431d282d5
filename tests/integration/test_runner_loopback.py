"""Whole runs over real loopback HTTP against the fake xAI server."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent, RunConfig, RunResult, tool
from agentkit.errors import BadRequest, StreamInterrupted
from agentkit.model import RetryPolicy, XAIClient
from agentkit.testing import FakeXAI, Fault, Script, Turn, serve_in_thread


class Desk(Agent):
    @tool
    async def lookup_ticket(self, ticket_id: int) -> dict[str, Any]:
        """Look up a ticket."""
        return {"id": ticket_id, "title": "disk full"}


SCRIPT = [
    Turn.calls([("lookup_ticket", {"ticket_id": 1}), ("lookup_ticket", {"ticket_id": 2})]),
    Turn.text("both are about disks"),
]


async def run_once(fake: FakeXAI, *, stream: bool, **client: Any) -> RunResult:
    with serve_in_thread(fake) as server:
        http = XAIClient(api_key="test-key-123456", base_url=server.base_url, **client)
        agent = Desk(client=http, config=RunConfig(stream=stream))
        try:
            return await agent.run("what are tickets 1 and 2?")
        finally:
            await http.aclose()


def essentials(run: RunResult) -> Any:
    return (
        run.status,
        run.output,
        [(s.tool, s.arguments, s.status, s.output) for s in run.steps],
        run.totals.requests,
        run.totals.input_tokens,
        run.totals.output_tokens,
    )


async def test_streamed_and_plain_runs_are_equal() -> None:
    plain = await run_once(FakeXAI(Script(SCRIPT)), stream=False)
    streamed = await run_once(FakeXAI(Script(SCRIPT)), stream=True)
    assert plain.status == "completed"
    assert essentials(plain) == essentials(streamed)
    assert streamed.usage[0]["time_to_first_token_ms"] is not None


async def test_a_run_survives_a_429_and_a_dropped_connection() -> None:
    fake = FakeXAI(Script(SCRIPT))
    fake.inject(Fault.http(429, retry_after=0.2))
    fake.inject(Fault.drop())
    result = await run_once(fake, stream=False, retry=RetryPolicy(base_delay=0.01))
    assert result.status == "completed"
    assert result.usage[0]["attempts"] == 3
    assert fake.count("/v1/responses") == 4


async def test_a_truncated_stream_fails_the_run_with_its_state() -> None:
    fake = FakeXAI(Script(SCRIPT))
    fake.inject(Fault.truncate_stream(after_events=3), times=10)
    with pytest.raises(StreamInterrupted) as info:
        await run_once(fake, stream=True, retry=RetryPolicy(max_attempts=1))
    assert info.value.run.status == "failed"  # type: ignore[attr-defined]


async def test_a_400_is_not_retried_and_ends_the_run() -> None:
    fake = FakeXAI(Script(SCRIPT))
    fake.inject(Fault.http(400, message="Argument not supported on this model: stop"))
    with pytest.raises(BadRequest, match="not supported"):
        await run_once(fake, stream=False)
    assert fake.count("/v1/responses") == 1
