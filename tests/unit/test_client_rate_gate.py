"""A client with a rate gate: requests of several runs share the model's allowance and
queue instead of meeting 429s (queue time in their usage); a 429 pauses the model and is
retried through the gate; a client without one sends as before."""

from __future__ import annotations

import asyncio

from agentkit.model.request_queue import ModelLimits, RateGate
from agentkit.model.types import ModelRequest
from agentkit.testing import FakeXAI, Fault, Script, Turn
from agentkit.testing.clock import FakeClock
from agentkit.testing.scripted_client import scripted_client


def _gate(clock: FakeClock, rpm: int) -> RateGate:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return RateGate({"grok-4": ModelLimits(rpm=rpm)}, clock=clock, sleep=sleep)


def _request(n: int) -> ModelRequest:
    return ModelRequest(model="grok-4", input=[{"role": "user", "content": f"hi {n}"}])


async def test_requests_share_the_allowance_and_queue_for_it() -> None:
    clock = FakeClock(0.0)
    fake = FakeXAI(Script([Turn.text("ok")] * 6))
    client = scripted_client(fake, rate_gate=_gate(clock, rpm=2))
    answered: list[tuple[float, float]] = []

    async def one(n: int) -> None:
        response = await client.respond(_request(n))
        answered.append((clock(), response.usage.queued_ms))

    await asyncio.gather(*(one(n) for n in range(6)))
    times = sorted(t for t, _ in answered)
    for start in times:  # at most 2 admitted in any minute of the gate's clock
        assert sum(start <= t < start + 60 for t in times) <= 2
    assert times[-1] >= 120  # six requests at two a minute: the last in the third minute
    assert sum(queued > 0 for _, queued in answered) >= 4  # they waited, visibly
    assert fake.count() == 6


async def test_a_429_pauses_the_model_and_the_request_is_retried_through_the_gate() -> None:
    clock = FakeClock(0.0)
    fake = FakeXAI(Script([Turn.text("ok")]))
    fake.inject(Fault.http(429, retry_after=5))
    gate = _gate(clock, rpm=60)
    client = scripted_client(fake, rate_gate=gate)
    response = await client.respond(_request(1))
    assert response.usage.attempts == 2
    assert fake.count() == 2
    assert clock() >= 5  # the second attempt waited out the pause in the gate
    assert gate.rate_factor("grok-4") < 1.0  # and the model goes slower for a while


async def test_without_a_gate_usage_has_no_queue_time() -> None:
    fake = FakeXAI(Script([Turn.text("ok")]))
    response = await scripted_client(fake).respond(_request(1))
    assert "queued_ms" not in response.usage.to_dict()


async def test_runs_of_several_runners_and_clients_share_one_allowance() -> None:
    from agentkit.decision import AllowAll, Principal
    from agentkit.pipeline.authorise import RecentCalls
    from agentkit.pipeline.runner import Runner
    from agentkit.tool import Tool

    async def lookup(n: int) -> str:
        """Look a row up."""
        return f"row {n}"

    clock = FakeClock(0.0)
    gate = _gate(clock, rpm=3)
    sent: list[float] = []

    def turn(body: dict[str, object]) -> Turn:
        sent.append(clock())
        done = any(
            isinstance(item, dict) and item.get("type") == "function_call_output"
            for item in body.get("input") or []  # type: ignore[attr-defined]
        )
        return Turn.text("done") if done else Turn.call("lookup", {"n": 1})

    runners = [
        Runner(rate_window=RecentCalls(), model="grok-4", tools=[Tool(lookup)],
               client=scripted_client(FakeXAI(turn), rate_gate=gate), authoriser=AllowAll())
        for _ in range(3)
    ]  # fmt: skip
    runs = await asyncio.gather(*(
        runners[n % 3].start(f"look {n} up", principal=Principal(user_id=f"u{n}"))
        for n in range(6)
    ))  # fmt: skip
    assert [run.output for run in runs] == ["done"] * 6
    assert len(sent) == 12
    for start in sent:  # three clients, six runs, one allowance of three a minute
        assert sum(start <= t < start + 60 for t in sent) <= 3
    assert sent[-1] >= 180
    assert sum(run.totals.queued_ms > 0 for run in runs) >= 4
