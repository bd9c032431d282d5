"""The runs a service process drives: their owners, events and state.

Each run's events are kept in order with a service-wide sequence number (a resumed run
goes on counting), so a subscriber that reconnects with ``Last-Event-ID`` gets exactly
what it missed. The event store (`agentkit.serve.event_store`) keeps them on disk, and
runs an earlier process started are read back from it; paused runs are in the approvals
store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agentkit.decision import Principal
from agentkit.events import EventSink, RunEvent
from agentkit.serve.event_store import EventStore
from agentkit.state import RunResult


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
    finished: bool = False
    """No run of it is in progress (it completed, failed, or paused)."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when something arrives; replaced by a fresh one each time (no task per event)."""
    task: asyncio.Task[Any] | None = None

    def notify(self) -> None:
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


MAX_FINISHED_RUNS = 10_000
"""Finished runs whose events a process keeps; older ones are forgotten (their paused state,
if any, stays in the approvals store)."""


class RunHub:
    """Starts runs in the background and fans their events out to subscribers.

    Memory stays bounded: past `max_finished` finished runs, the oldest finished ones are
    forgotten (a run in progress never is).
    """

    def __init__(
        self, max_finished: int = MAX_FINISHED_RUNS, store: EventStore | None = None
    ) -> None:
        self._store = store
        self._runs: dict[str, HostedRun] = {}
        self._finished: dict[str, None] = {}  # run ids in the order they finished
        self._max_finished = max_finished

    def get(self, run_id: str) -> HostedRun | None:
        """A run this process holds in memory."""
        return self._runs.get(run_id)

    async def find(self, run_id: str) -> HostedRun | None:
        """A run in memory, else as the event store kept it (an earlier process's)."""
        hosted = self._runs.get(run_id)
        if hosted is not None or self._store is None:
            return hosted
        stored = await self._store.load(run_id)
        if stored is None:
            return None
        return HostedRun(
            run_id,
            stored.principal,
            events=stored.events,
            status=stored.status,
            view=stored.state,
            finished=True,
        )

    async def adopt(self, run_id: str) -> None:
        """Hold a run an earlier process started, with its events, so that continuing it
        here goes on counting from its last event."""
        if run_id not in self._runs:
            found = await self.find(run_id)
            if found is not None:
                self._runs[run_id] = found

    def owned_by(self, principal: Principal) -> list[HostedRun]:
        return [r for r in self._runs.values() if _same_person(r.principal, principal)]

    async def statuses_of(self, principal: Principal) -> dict[str, str]:
        """Run id -> status of every run of `principal`, in memory and in the store."""
        found = dict(await self._store.owned_by(principal)) if self._store is not None else {}
        found.update({r.run_id: r.status for r in self.owned_by(principal)})
        return found

    def launch(
        self,
        run_id: str,
        principal: Principal,
        drive: Callable[[EventSink], Awaitable[RunResult]],
        on_end: Callable[[RunResult], Awaitable[None]],
    ) -> HostedRun:
        """Drive a run (new or resumed) in the background, recording its events."""
        hosted = self._runs.get(run_id) or HostedRun(run_id, principal)
        self._runs[run_id] = hosted
        hosted.finished, hosted.status = False, "running"
        self._finished.pop(run_id, None)
        store = self._store
        if store is not None:
            store.started(run_id, principal)

        def sink(event: RunEvent) -> None:
            record = event.to_dict()
            record["seq"] = len(hosted.events) + 1  # the service's own order, across resumes
            hosted.events.append(record)
            if store is not None:
                store.event(run_id, record)
            hosted.notify()

        async def run() -> None:
            try:
                state = await drive(sink)
            except Exception as exc:  # the run's failure is its state; nothing is lost
                failed: RunResult | None = getattr(exc, "run", None)
                if failed is None:
                    hosted.finished = True
                    hosted.notify()
                    raise
                state = failed
            hosted.state, hosted.status = state, state.status
            await on_end(state)
            sink(_result_event(state, len(hosted.events) + 1))
            hosted.view = hosted.events[-1].get("result")
            if store is not None:
                store.ended(run_id, principal, state.status, hosted.view or {})
            hosted.finished = True
            hosted.notify()
            self._retire(run_id)

        hosted.task = asyncio.get_running_loop().create_task(run())
        return hosted

    def _retire(self, run_id: str) -> None:
        self._finished[run_id] = None
        while len(self._finished) > self._max_finished:
            oldest = next(iter(self._finished))
            del self._finished[oldest]
            self._runs.pop(oldest, None)

    async def follow(self, hosted: HostedRun, after: int, heartbeat: float) -> AsyncIterator[Any]:
        """Events after seq `after`, as they come, then None each `heartbeat` idle seconds;
        ends once the run is finished and everything was sent."""
        sent = after
        while True:
            while sent < len(hosted.events):
                sent += 1
                yield hosted.events[sent - 1]
            if hosted.finished:
                return
            changed = hosted.changed
            try:
                await asyncio.wait_for(changed.wait(), heartbeat)
            except TimeoutError:
                yield None


def _result_event(state: RunResult, seq: int) -> RunEvent:
    return RunEvent(
        type="run.result",
        run_id=state.run_id,
        seq=seq,
        turn=state.turn,
        data={"status": state.status},
        result=state,
    )


def _same_person(a: Principal, b: Principal) -> bool:
    return a.user_id == b.user_id and a.workspace == b.workspace
