"""The service's event store: events in order across batches, owners kept, and a run its
process left unfinished reported interrupted after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentkit.decision import Principal
from agentkit.serve.event_store import EventStore

ANA = Principal(user_id="ana", workspace="acme")


def test_events_and_owner_survive_a_new_store(tmp_path: Path) -> None:
    async def write() -> None:
        store = EventStore(tmp_path / "s.db")
        store.started("r1", ANA)
        for seq in range(1, 6):
            store.event("r1", {"seq": seq, "type": "call.requested"})
            if seq == 3:
                await store.flush()  # two batches
        store.started("r2", ANA)  # never ends: its process dies
        await store.flush()

    asyncio.run(write())
    later = EventStore(tmp_path / "s.db")
    later.mark_interrupted()
    found = asyncio.run(later.load("r1"))
    assert found is not None
    assert [e["seq"] for e in found.events] == [1, 2, 3, 4, 5]
    assert found.principal == Principal(user_id="ana", workspace="acme")
    assert dict(asyncio.run(later.owned_by(ANA))) == {"r1": "interrupted", "r2": "interrupted"}
    assert asyncio.run(later.owned_by(Principal(user_id="ana"))) == []  # another workspace
    assert asyncio.run(later.load("nope")) is None


def test_an_ended_run_keeps_its_status_and_state(tmp_path: Path) -> None:
    async def write() -> None:
        store = EventStore(tmp_path / "s.db")
        store.started("r", ANA)
        store.ended("r", ANA, "completed", {"output": "done"})
        await store.flush()

    asyncio.run(write())
    later = EventStore(tmp_path / "s.db")
    later.mark_interrupted()
    found = asyncio.run(later.load("r"))
    assert found is not None
    assert (found.status, found.state) == ("completed", {"output": "done"})
