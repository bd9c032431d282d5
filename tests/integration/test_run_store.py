"""The service's run store on both databases: events kept in order, owners scoping every
read, checkpoints and effects kept for continuing, and leases that hand a dead worker's runs
to exactly one other worker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit.decision import Principal
from agentkit.serve.run_store import RunStore, open_run_store

ANA = Principal(user_id="ana", workspace="acme")
ANA_ELSEWHERE = Principal(user_id="ana")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store location: a SQLite path, or a new PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "service.db")
    return str(request.getfixturevalue("new_pg_database")("runs"))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def store_at(where: str, worker: str, clock: Callable[[], float] | None = None) -> RunStore:
    return open_run_store(where, worker=worker, lease_seconds=10, clock=clock or Clock())


def test_events_owner_and_status_survive_a_new_store(where: str) -> None:
    async def first() -> None:
        store = store_at(where, "w1")
        store.started("r1", ANA, prompt="go")
        for seq in range(1, 6):
            store.event("r1", seq, json.dumps({"seq": seq, "type": "call.requested", "text": "é"}))
            if seq == 3:
                await store.flush()  # two batches
        store.started("r2", ANA)
        store.ended("r2", "completed", {"output": "done"})
        await store.close()

    async def later() -> None:
        store = store_at(where, "w2")
        found = await store.load("r1")
        assert found is not None
        assert [e["seq"] for e in found.events] == [1, 2, 3, 4, 5]
        assert found.events[0]["text"] == "é"
        assert (found.principal, found.status, found.prompt) == (ANA, "running", "go")
        assert [e["seq"] for e in await store.events_after("r1", 3)] == [4, 5]
        assert dict(await store.owned_by(ANA)) == {"r1": "running", "r2": "completed"}
        assert await store.owned_by(ANA_ELSEWHERE) == []  # the same name, another workspace
        done = await store.load("r2")
        assert done is not None
        assert done.state == {"output": "done"}
        assert await store.load("nope") is None
        await store.close()

    asyncio.run(first())
    asyncio.run(later())


def test_a_checkpoint_and_an_effect_are_kept_until_the_run_ends(where: str) -> None:
    async def go() -> None:
        store = store_at(where, "w1")
        store.started("r", ANA)
        store.checkpoint("r", '{"turn": 1}')
        await store.effect("r", "call_9")
        found = await store.load("r")
        assert found is not None
        assert (found.checkpoint, found.effect) == ('{"turn": 1}', "call_9")
        store.checkpoint("r", '{"turn": 2}')  # a new turn: the effect is behind it
        await store.flush()
        found = await store.load("r")
        assert found is not None
        assert (found.checkpoint, found.effect) == ('{"turn": 2}', None)
        await store.effect("r", "call_10")
        store.interrupted("r", {"status": "interrupted"})
        await store.flush()
        found = await store.load("r")
        assert found is not None
        assert found.status == "interrupted"
        assert (found.checkpoint, found.effect, found.worker) == ('{"turn": 2}', "call_10", None)
        store.ended("r", "completed", {})
        await store.flush()
        found = await store.load("r")
        assert found is not None
        assert (found.checkpoint, found.effect) == (None, None)
        await store.close()

    asyncio.run(go())


def test_a_live_lease_is_not_taken_and_an_expired_one_is_taken_once(where: str) -> None:
    clock = Clock()

    async def go() -> None:
        dead, alive, other = (store_at(where, w, clock) for w in ("dead", "alive", "other"))
        dead.started("orphan", ANA)
        alive.started("kept", ANA)
        await dead.flush(), await alive.flush()
        clock.now += 9
        assert await other.claim_expired() == []  # both leases still hold
        await alive.renew(["kept"])  # only the live worker renews, what it drives
        clock.now += 2
        claims = await asyncio.gather(other.claim_expired(), alive.claim_expired())
        taken = [run.run_id for claimed in claims for run in claimed]
        assert taken == ["orphan"]  # one worker, once; the renewed run stays with its worker
        owner = await other.load("orphan") if claims[0] else await alive.load("orphan")
        assert owner is not None
        assert owner.worker in ("other", "alive")
        for store in (dead, alive, other):
            await store.close()

    asyncio.run(go())


def test_a_stopped_run_is_claimed_by_one_of_two_workers(where: str) -> None:
    async def go() -> None:
        a, b = store_at(where, "a"), store_at(where, "b")
        a.started("r", ANA)
        a.ended("r", "awaiting_approval", None)
        await a.flush()
        won = await asyncio.gather(a.claim("r", ANA), b.claim("r", ANA))
        assert sorted(won) == [False, True]
        assert not await a.claim("r", ANA)  # running now: nobody else continues it
        assert await b.claim("paused-by-the-cli", ANA)  # a run it never saw: taken too
        found = await b.load("paused-by-the-cli")
        assert found is not None
        assert (found.principal, found.status, found.worker) == (ANA, "running", "b")
        await a.close(), await b.close()

    asyncio.run(go())


def test_durable_reports_the_last_kept_event_of_each_run(where: str) -> None:
    kept: list[dict[str, int]] = []

    async def go() -> None:
        store = store_at(where, "w")
        store.on_durable = kept.append
        store.started("a", ANA), store.started("b", ANA)
        for seq in (1, 2, 3):
            store.event("a", seq, json.dumps({"seq": seq}))
        store.event("b", 1, json.dumps({"seq": 1}))
        await store.flush()
        await store.close()

    asyncio.run(go())
    assert kept == [{"a": 3, "b": 1}]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    runs=st.lists(st.sampled_from(["r1", "r2", "r3"]), min_size=1, max_size=25),
    flush_every=st.integers(min_value=1, max_value=6),
)
def test_sqlite_events_come_back_in_order_however_they_were_batched(
    tmp_path_factory: pytest.TempPathFactory, runs: list[str], flush_every: int
) -> None:
    where = str(tmp_path_factory.mktemp("batches") / "service.db")

    async def go() -> dict[str, list[int]]:
        store = store_at(where, "w")
        counts: dict[str, int] = {}
        for i, run_id in enumerate(runs):
            if run_id not in counts:
                store.started(run_id, ANA)
            counts[run_id] = counts.get(run_id, 0) + 1
            store.event(run_id, counts[run_id], json.dumps({"seq": counts[run_id]}))
            if i % flush_every == 0:
                await store.flush()
        await store.close()
        reader = store_at(where, "reader")
        found = {r: [e["seq"] for e in await reader.events_after(r, 0)] for r in counts}
        await reader.close()
        return found

    found = asyncio.run(go())
    assert found == {r: list(range(1, runs.count(r) + 1)) for r in set(runs)}


def test_usage_elsewhere_counts_the_other_workers_runs_only(where: str) -> None:
    clock = Clock()

    async def go() -> None:
        from agentkit.serve.user_limits import Elsewhere

        a, b = store_at(where, "a", clock), store_at(where, "b", clock)
        for run_id in ("r1", "r2", "r3"):
            a.started(run_id, ANA)
        a.ended("r3", "completed", {}, cost_usd=0.25)
        await a.flush()
        seen_by_b = await b.usage_elsewhere()
        assert seen_by_b[("ana", "acme")] == Elsewhere(2, 3, 0.25)
        own = await a.usage_elsewhere()
        assert own[("ana", "acme")] == Elsewhere(0, 0, 0.0)  # its own runs it counts itself
        clock.now += 61  # a minute on: started runs no longer count, running ones do
        assert (await b.usage_elsewhere())[("ana", "acme")] == Elsewhere(2, 0, 0.25)
        await a.close(), await b.close()

    asyncio.run(go())


def test_a_claimed_run_nobody_drives_is_left_to_expire(where: str) -> None:
    clock = Clock()

    async def go() -> None:
        a, b = store_at(where, "a", clock), store_at(where, "b", clock)
        a.started("r", ANA)
        a.ended("r", "awaiting_approval", None)
        await a.flush()
        assert await a.claim("r", ANA)  # then its driver fails before it runs anything
        for _ in range(4):
            clock.now += 4
            await a.renew([])  # it drives nothing: the claim is not kept alive
        [taken] = await b.claim_expired()
        assert taken.run_id == "r"
        await a.close(), await b.close()

    asyncio.run(go())
