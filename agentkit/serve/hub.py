"""The runs a service process drives: their owners, events and state.

Each run's events are kept in order with a service-wide sequence number (a resumed or
continued run goes on counting), so a subscriber that reconnects with ``Last-Event-ID`` -
to this worker or another - gets exactly what it missed. The run store
(`agentkit.serve.run_store`) keeps runs and events for every worker; an event is sent to
subscribers only once the store holds it, so no one sees an event a dead worker takes
with it. A run another worker drives is followed through the store. Paused runs are in
the approvals store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agentkit.decision import Principal
from agentkit.events import EventSink, RunEvent
from agentkit.pipeline.checkpoints import Checkpoints
from agentkit.serve.run_store import RunStore, StoredRun
from agentkit.state import RunResult, Step

log = logging.getLogger("agentkit.serve")

POLL_SECONDS = 0.05
"""How often a subscriber to a run that another worker drives looks for its new events."""


@dataclass
class HostedRun:
    """One run: who it is for, every event so far, and its latest state."""

    run_id: str
    principal: Principal
    events: list[dict[str, Any]] = field(default_factory=list)
    state: RunResult | None = None
    status: str = "running"
    view: dict[str, Any] | None = None
    """The state as the wire shows it (redacted), once the run stopped."""
    durable: int = 0
    """Events up to this sequence number are in the store (and may be sent)."""
    local: bool = False
    """This worker drives it now."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when something arrives; replaced by a fresh one each time (no task per event)."""
    task: asyncio.Task[Any] | None = None

    @property
    def finished(self) -> bool:
        """No run of it is in progress here (it completed, failed, paused, or another
        worker drives it)."""
        return not self.local

    def notify(self) -> None:
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


MAX_FINISHED_RUNS = 10_000
"""Finished runs whose events a process keeps in memory; older ones are read back from the
store when asked for."""

Orphan = Callable[[StoredRun], Awaitable[None]]


class RunHub:
    """Starts runs in the background and fans their events out to subscribers.

    Memory stays bounded: past `max_finished` finished runs, the oldest finished ones are
    forgotten here (a run in progress never is).
    """

    def __init__(
        self, store: RunStore | None = None, max_finished: int = MAX_FINISHED_RUNS
    ) -> None:
        self._store = store
        self._runs: dict[str, HostedRun] = {}
        self._finished: dict[str, None] = {}  # run ids in the order they finished
        self._max_finished = max_finished
        self._keeper: asyncio.Task[None] | None = None
        self.on_orphan: Orphan | None = None
        """Called with each run whose worker died, once this worker leased it."""
        self.on_tick: Callable[[], Awaitable[None]] | None = None
        """Called each time the leases are renewed (the service refreshes its view of
        the other workers' per-user usage)."""
        self._checkpoints = None if store is None else _StoreCheckpoints(store)
        if store is not None:
            store.on_durable = self._durable

    @property
    def store(self) -> RunStore | None:
        return self._store

    def get(self, run_id: str) -> HostedRun | None:
        """A run this process holds in memory."""
        return self._runs.get(run_id)

    async def find(self, run_id: str) -> HostedRun | None:
        """A run in memory, else as the store has it (another worker's or an earlier one's)."""
        hosted = self._runs.get(run_id)
        if self._store is None or (hosted is not None and hosted.local):
            return hosted  # a run this worker does not drive may have moved on elsewhere
        stored = await self._store.load(run_id)
        if stored is None:
            return None
        return HostedRun(
            run_id,
            stored.principal,
            events=stored.events,
            status=stored.status,
            view=stored.state,
            durable=len(stored.events),
        )

    async def adopt(self, run_id: str) -> None:
        """Hold a run from the store here, with its events, so that continuing it here goes
        on counting from its last event."""
        hosted = self._runs.get(run_id)
        if hosted is not None and hosted.local:
            return
        found = await self.find(run_id)
        if found is None:
            return
        if hosted is None:
            self._runs[run_id] = found
        else:
            hosted.events, hosted.durable = found.events, found.durable

    def owned_by(self, principal: Principal) -> list[HostedRun]:
        return [r for r in self._runs.values() if _same_person(r.principal, principal)]

    async def statuses_of(self, principal: Principal) -> dict[str, str]:
        """Run id -> status of every run of `principal`, in memory and in the store."""
        found = dict(await self._store.owned_by(principal)) if self._store is not None else {}
        found.update({r.run_id: r.status for r in self.owned_by(principal) if r.local})
        return found

    def launch(
        self,
        run_id: str,
        principal: Principal,
        drive: Callable[[EventSink], Awaitable[RunResult]],
        on_end: Callable[[RunResult], Awaitable[None]],
        *,
        prompt: str | None = None,
    ) -> HostedRun:
        """Drive a run (new, resumed or continued) in the background, recording its events."""
        hosted = self._runs.get(run_id) or HostedRun(run_id, principal)
        self._runs[run_id] = hosted
        hosted.status, hosted.local = "running", True
        self._finished.pop(run_id, None)
        store = self._store
        if store is not None:
            store.started(run_id, principal, prompt)
            self.keep_leases()

        def sink(event: RunEvent) -> None:
            self.append(hosted, event.to_dict())

        async def run() -> None:
            try:
                state = await drive(sink)
            except Exception as exc:  # the run's failure is its state; nothing is lost
                failed: RunResult | None = getattr(exc, "run", None)
                if failed is None:
                    await self.end(hosted, "failed", {"error": type(exc).__name__})
                    raise
                state = failed
            hosted.state = state
            await on_end(state)
            self.append(hosted, RunEvent.result_of(state).to_dict())
            view = hosted.events[-1].get("result")
            await self.end(hosted, state.status, view, state.totals.cost_usd)

        hosted.task = asyncio.get_running_loop().create_task(run())
        return hosted

    def append(self, hosted: HostedRun, record: dict[str, Any]) -> None:
        """Add an event to a run this worker drives (sent once the store holds it)."""
        record["seq"] = len(hosted.events) + 1  # the service's own order, across resumes
        kept = EventRecord(record)
        kept.text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        hosted.events.append(kept)
        if self._store is not None:
            self._store.event(hosted.run_id, record["seq"], kept.text)
        else:
            hosted.durable = record["seq"]
            hosted.notify()

    async def end(
        self, hosted: HostedRun, status: str, view: dict[str, Any] | None, cost_usd: float = 0.0
    ) -> None:
        """The run stopped here: recorded, its subscribers told once that is kept."""
        hosted.status, hosted.view = status, view
        if self._store is not None:
            if status == "interrupted":  # its checkpoint stays, to continue from
                self._store.interrupted(hosted.run_id, view or {})
            else:
                self._store.ended(hosted.run_id, status, view, cost_usd)
            await self._store.flush()
        hosted.local = False
        hosted.notify()
        self._retire(hosted.run_id)

    async def interrupt(self, hosted: HostedRun, reason: str, call_id: str | None) -> None:
        """End a run this worker took up but may not continue on its own."""
        data = {"status": "interrupted", "reason": reason, "call_id": call_id}
        record = {"type": "run.interrupted", "run_id": hosted.run_id, "turn": 0, "data": data}
        self.append(hosted, record)
        await self.end(hosted, "interrupted", data)

    @property
    def checkpoints(self) -> Checkpoints | None:
        """Where runs tell their safe points: the store (None without one)."""
        return self._checkpoints

    def _durable(self, kept: dict[str, int]) -> None:
        for run_id, seq in kept.items():
            hosted = self._runs.get(run_id)
            if hosted is not None and seq > hosted.durable:
                hosted.durable = seq
                hosted.notify()

    def _retire(self, run_id: str) -> None:
        self._finished[run_id] = None
        while len(self._finished) > self._max_finished:
            oldest = next(iter(self._finished))
            del self._finished[oldest]
            self._runs.pop(oldest, None)

    # --- leases -------------------------------------------------------------------------

    def keep_leases(self) -> None:
        """Renew this worker's leases, and take up runs whose worker died (`on_orphan` is
        called with each), in the background from now on."""
        if self._store is None or (self._keeper is not None and not self._keeper.done()):
            return
        self._keeper = asyncio.get_running_loop().create_task(self._keep(self._store))

    async def _keep(self, store: RunStore) -> None:
        while True:
            try:
                await store.renew([r.run_id for r in self._runs.values() if r.local])
                if self.on_orphan is not None:
                    for stored in await store.claim_expired():
                        await self.on_orphan(stored)
                if self.on_tick is not None:
                    await self.on_tick()
            except Exception:  # a database hiccup must not end lease keeping
                log.exception("keeping run leases failed; trying again")
            await asyncio.sleep(store.lease_seconds / 3)

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        if self._store is not None:
            await self._store.close()

    # --- subscribers ----------------------------------------------------------------------

    async def follow(self, hosted: HostedRun, after: int, heartbeat: float) -> AsyncIterator[Any]:
        """Events after seq `after`, as they come, then None each `heartbeat` idle seconds;
        ends once the run is finished and everything was sent."""
        if not hosted.local and hosted.status == "running" and self._store is not None:
            async for event in self._follow_stored(hosted.run_id, after, heartbeat):
                yield event
            return
        sent = after
        while True:
            while sent < min(len(hosted.events), hosted.durable):
                sent += 1
                yield hosted.events[sent - 1]
            if hosted.finished and sent >= len(hosted.events):
                return
            changed = hosted.changed
            try:
                await asyncio.wait_for(changed.wait(), heartbeat)
            except TimeoutError:
                yield None

    async def _follow_stored(self, run_id: str, after: int, heartbeat: float) -> AsyncIterator[Any]:
        """A run another worker drives: its events as the store receives them."""
        assert self._store is not None
        sent, idle = after, 0.0
        while True:
            hosted = self._runs.get(run_id)
            if hosted is not None and hosted.local:  # taken over by this worker meanwhile
                async for event in self.follow(hosted, sent, heartbeat):
                    yield event
                return
            stored = await self._store.load(run_id, events=False)
            fresh = await self._store.events_after(run_id, sent)
            for event in fresh:
                sent = int(event["seq"])
                yield event
            if stored is None or (stored.status != "running" and not fresh):
                return
            idle = 0.0 if fresh else idle + POLL_SECONDS
            if idle >= heartbeat:
                idle = 0.0
                yield None
            await asyncio.sleep(POLL_SECONDS)


class EventRecord(dict[str, Any]):
    """An event as the wire shows it, with its JSON text made once (for the store and
    every subscriber)."""

    __slots__ = ("text",)
    text: str


class _StoreCheckpoints:
    """The runner's safe points, kept in the run store."""

    def __init__(self, store: RunStore) -> None:
        self._store = store

    async def turn_starting(self, run_id: str, state: str) -> None:
        self._store.checkpoint(run_id, state)

    async def effect_starting(self, run: RunResult, step: Step) -> None:
        await self._store.effect(run.run_id, step.call_id)


def _same_person(a: Principal, b: Principal) -> bool:
    return a.user_id == b.user_id and a.workspace == b.workspace
