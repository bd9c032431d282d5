"""Every request of a run names the run's cache: ``prompt_cache_key`` on Responses,
``x-grok-conv-id`` on Chat Completions; different runs never share one; a deployer may
choose another key or none."""

from __future__ import annotations

import pytest

from agentkit.decision import AllowAll, Principal
from agentkit.pipeline.authorise import RecentCalls
from agentkit.pipeline.run_config import RunConfig
from agentkit.pipeline.runner import Runner
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.scripted_client import scripted_client
from agentkit.tool import Tool


async def lookup(n: int) -> str:
    """Look a row up."""
    return f"row {n}"


def _runner(fake: FakeXAI, endpoint: str = "responses", **config: object) -> Runner:
    return Runner(rate_window=RecentCalls(), model="grok-4", tools=[Tool(lookup)],
                  client=scripted_client(fake, endpoint=endpoint), authoriser=AllowAll(),
                  config=RunConfig(**config))  # type: ignore[arg-type]  # fmt: skip


def _turns() -> Script:
    return Script([Turn.call("lookup", {"n": 1}), Turn.text("done")])


@pytest.mark.parametrize("endpoint", ["responses", "chat"])
async def test_every_turn_of_a_run_names_its_cache_and_runs_do_not_share(endpoint: str) -> None:
    fake = FakeXAI(_turns())
    runner = _runner(fake, endpoint)
    for run_id in ("run-a", "run-b"):
        fake.script = _turns()
        await runner.start("look 1 up", principal=Principal(user_id="ana"), run_id=run_id)
    keys = []
    for request in fake.requests:
        if endpoint == "responses":
            keys.append(request.json["prompt_cache_key"])
        else:
            assert "prompt_cache_key" not in request.json
            keys.append(request.headers["x-grok-conv-id"])
    assert keys == ["run-a", "run-a", "run-b", "run-b"]


async def test_a_deployer_may_set_another_key_or_none() -> None:
    fake = FakeXAI(_turns())
    await _runner(fake, request_options={"prompt_cache_key": "team-7"}).start("x")
    assert {r.json["prompt_cache_key"] for r in fake.requests} == {"team-7"}
    fake = FakeXAI(_turns())
    await _runner(fake, request_options={"prompt_cache_key": None}).start("x")
    assert all("prompt_cache_key" not in r.json for r in fake.requests)


def _three_turns() -> Script:
    return Script([Turn.call("lookup", {"n": 1}), Turn.call("lookup", {"n": 2}),
                   Turn.text("done")])  # fmt: skip


@pytest.mark.parametrize("endpoint", ["responses", "chat"])
async def test_a_named_cache_answers_the_shared_prefix_and_the_run_reports_its_hit_rate(
    endpoint: str,
) -> None:
    fake = FakeXAI(_three_turns())
    run = await _runner(fake, endpoint, chain_responses=False).start("look 1 and 2 up")
    cached = [usage.get("cached_tokens", 0) for usage in run.usage]
    assert cached[0] == 0
    assert 0 < cached[1] < cached[2]
    assert run.totals.cached_tokens == sum(cached)
    assert run.totals.prompt_cache_hit_rate == pytest.approx(
        run.totals.cached_tokens / run.totals.input_tokens
    )
    assert 0 < run.totals.prompt_cache_hit_rate < 1


async def test_without_a_cache_name_nothing_is_cached() -> None:
    fake = FakeXAI(_three_turns())
    options = {"prompt_cache_key": None}
    run = await _runner(fake, chain_responses=False, request_options=options).start("x")
    assert run.totals.cached_tokens == 0
    assert run.totals.prompt_cache_hit_rate == 0.0
