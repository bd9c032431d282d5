"""The service's run hub keeps memory bounded: old finished runs are forgotten, runs in
progress never are, and a subscriber gets every event in order."""

from __future__ import annotations

import asyncio
from typing import Any

from agentkit.decision import Principal
from agentkit.events import EventSink, RunEvent
from agentkit.serve.hub import RunHub
from agentkit.state import RunResult

WHO = Principal(user_id="ana")


def state(run_id: str, status: str = "completed") -> RunResult:
    return RunResult(run_id=run_id, agent="A", model="m", principal=WHO, status=status)  # type: ignore[arg-type]


async def noop(state: RunResult) -> None:
    return None


def test_old_finished_runs_are_forgotten_running_ones_never() -> None:
    async def go() -> RunHub:
        hub = RunHub(max_finished=3)
        release = asyncio.Event()

        async def slow(sink: EventSink) -> RunResult:
            await release.wait()
            return state("slow")

        hub.launch("slow", WHO, slow, noop)
        for i in range(10):

            async def quick(sink: EventSink, i: int = i) -> RunResult:
                sink(RunEvent(type="run.started", run_id=f"r{i}", seq=1))
                return state(f"r{i}")

            hosted = hub.launch(f"r{i}", WHO, quick, noop)
            assert hosted.task is not None
            await hosted.task
        assert hub.get("slow") is not None  # still running: kept
        release.set()
        slow_task = hub.get("slow").task  # type: ignore[union-attr]
        assert slow_task is not None
        await slow_task
        return hub

    hub = asyncio.run(go())
    kept = {r.run_id for r in hub.owned_by(WHO)}
    assert kept == {"r8", "r9", "slow"}  # the three that finished last


def test_a_subscriber_gets_every_event_in_order() -> None:
    async def go() -> list[Any]:
        hub = RunHub()

        async def drive(sink: EventSink) -> RunResult:
            for n in range(1, 6):
                sink(RunEvent(type="call.requested", run_id="r", seq=n))
                await asyncio.sleep(0)
            return state("r")

        hosted = hub.launch("r", WHO, drive, noop)
        return [e async for e in hub.follow(hosted, 0, heartbeat=5) if e is not None]

    seen = asyncio.run(go())
    assert [e["seq"] for e in seen] == [1, 2, 3, 4, 5, 6]
    assert seen[-1]["type"] == "run.result"
