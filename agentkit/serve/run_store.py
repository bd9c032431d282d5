"""The service's state: runs, their events, checkpoints and leases, in SQLite or PostgreSQL.

Every worker process of a deployment opens the same store (`open_run_store`: a SQLite
path, or a ``postgresql://`` URL for workers on several hosts) and so sees the same runs
and events. Writes are buffered and written together, in order, one transaction per
batch (a write per event would cost more than the event); a batch goes at most
`FLUSH_SECONDS` after its first write, and at once when something waits on it (a call
that changes something runs only once its mark is kept).

A run is driven by one worker at a time: the worker holds a lease on it and renews it
while it lives. A worker that dies stops renewing; once the lease runs out another worker
claims the run (`claim_expired`, atomic, so exactly one does) and continues it from its
last checkpoint (`agentkit.pipeline.checkpoints`).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.decision import Principal
from agentkit.serve.store_backends import Backend, Params, backend_for
from agentkit.serve.user_limits import DAY, Elsewhere

FLUSH_SECONDS = 0.02
LEASE_SECONDS = 10.0
"""How long a worker's claim on a run lasts without renewal (it renews every third of it)."""

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS agentkit_runs (
        run_id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        workspace TEXT NOT NULL,
        status TEXT NOT NULL,
        prompt TEXT,
        state TEXT,
        checkpoint TEXT,
        effect TEXT,
        worker TEXT,
        lease_until DOUBLE PRECISION,
        origin TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
        updated DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS agentkit_run_events (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (run_id, seq))""",
    "CREATE INDEX IF NOT EXISTS agentkit_runs_owner ON agentkit_runs (user_id, workspace)",
    "CREATE INDEX IF NOT EXISTS agentkit_runs_lease ON agentkit_runs (status, lease_until)",
)
_RUN_COLUMNS = "run_id, user_id, workspace, status, prompt, state, checkpoint, effect, worker"
_INSERT_EVENT = "INSERT INTO agentkit_run_events VALUES (?, ?, ?) ON CONFLICT DO NOTHING"


@dataclass(frozen=True)
class StoredRun:
    """A run as the store has it."""

    run_id: str
    principal: Principal
    status: str
    prompt: str | None
    state: dict[str, Any] | None
    """The state as the wire shows it (redacted), once the run stopped."""
    checkpoint: str | None
    """The sealed state at the start of its last turn, while it runs."""
    effect: str | None
    """The call id of a call that changes something, started after that checkpoint."""
    worker: str | None
    events: list[dict[str, Any]]


def worker_name() -> str:
    """This process, unique across hosts and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RunStore:
    """Runs, events, checkpoints and leases of one deployment; async, on either database.

    `on_durable`, when set, is called after each batch is written with the last sequence
    number kept of each run it held (the hub releases events to subscribers then, so an
    event anyone saw is never lost with its worker).
    """

    def __init__(
        self,
        backend: Backend,
        *,
        worker: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.worker = worker or worker_name()
        self.lease_seconds = lease_seconds
        self.on_durable: Callable[[dict[str, int]], None] | None = None
        self._clock = clock
        self._pending: list[tuple[str, Params]] = []
        self._kept: dict[str, int] = {}
        self._batch = 0  # the batch now filling; once taken, later writes go to the next
        self._written = -1  # the last batch written
        self._ready = False
        self._setup_lock: asyncio.Lock | None = None
        self._write_lock: asyncio.Lock | None = None
        self._flusher: asyncio.Task[None] | None = None

    # --- writes, buffered -------------------------------------------------------------------

    def started(self, run_id: str, owner: Principal, prompt: str | None = None) -> None:
        """`run_id` runs here now (new, resumed, or taken over), leased to this worker."""
        now = self._clock()
        self._queue(
            "INSERT INTO agentkit_runs (run_id, user_id, workspace, status, prompt, worker,"
            " lease_until, origin, created, updated) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (run_id) DO UPDATE SET status = 'running', worker = excluded.worker,"
            " lease_until = excluded.lease_until, updated = excluded.updated,"
            " prompt = COALESCE(excluded.prompt, agentkit_runs.prompt)",
            (run_id, owner.user_id, _space(owner), prompt, self.worker,
             now + self.lease_seconds, self.worker, now, now),
        )  # fmt: skip

    def event(self, run_id: str, seq: int, record: str) -> None:
        """Event number `seq` of `run_id`, as JSON text."""
        self._queue(_INSERT_EVENT, (run_id, seq, record))
        self._kept[run_id] = seq

    def ended(
        self, run_id: str, status: str, state: dict[str, Any] | None, cost_usd: float = 0.0
    ) -> None:
        """The run stopped here (completed, failed, paused): no lease, no checkpoint (a
        paused run's state is in the approvals store); `cost_usd` is what it cost so far."""
        self._queue(
            "UPDATE agentkit_runs SET status = ?, state = ?, checkpoint = NULL, effect = NULL,"
            " worker = NULL, lease_until = NULL, cost_usd = ?, updated = ? WHERE run_id = ?",
            (status, json.dumps(state) if state is not None else None, cost_usd,
             self._clock(), run_id),
        )  # fmt: skip

    def interrupted(self, run_id: str, state: dict[str, Any]) -> None:
        """No worker drives the run and none will on its own: its owner may continue it
        (`claim`); its checkpoint and effect stay."""
        self._queue(
            "UPDATE agentkit_runs SET status = 'interrupted', state = ?, worker = NULL,"
            " lease_until = NULL, updated = ? WHERE run_id = ?",
            (json.dumps(state), self._clock(), run_id),
        )

    def checkpoint(self, run_id: str, state: str) -> None:
        """Keep `state` (sealed JSON) as where `run_id` continues from, with the next batch.

        Not waited for: until it is written the checkpoint before it holds, and continuing
        from that one repeats only reads (a call that changes something waits for its
        `effect` mark, and so for every checkpoint before it, to be written)."""
        self._queue(
            "UPDATE agentkit_runs SET checkpoint = ?, effect = NULL, updated = ? WHERE run_id = ?",
            (state, self._clock(), run_id),
        )

    async def effect(self, run_id: str, call_id: str) -> None:
        """A call that changes something is about to run; returns once that (and all
        queued before it) is kept."""
        self._queue(
            "UPDATE agentkit_runs SET effect = ?, updated = ? WHERE run_id = ?",
            (call_id, self._clock(), run_id),
        )
        await self.flush()

    async def flush(self) -> None:
        """Write everything queued so far. Callers waiting together share one write (group
        commit): a batch another caller wrote meanwhile is not written again."""
        target = self._batch
        await self._setup()
        assert self._write_lock is not None
        async with self._write_lock:
            if self._written >= target:
                return  # written while this caller waited
            statements, self._pending = self._pending, []
            kept, self._kept = self._kept, {}
            taken, self._batch = self._batch, self._batch + 1
            if statements:
                await self.backend.transaction(_grouped(statements))
            self._written = taken
        if kept and self.on_durable is not None:
            self.on_durable(kept)

    # --- leases -----------------------------------------------------------------------------

    async def renew(self, run_ids: Sequence[str]) -> None:
        """Extend this worker's lease on the runs it drives (`run_ids`); a run it claimed
        but does not drive (its driver failed) is left to expire, for another to take."""
        await self.flush()
        until = self._clock() + self.lease_seconds
        await self.backend.transaction([(
            "UPDATE agentkit_runs SET lease_until = ? WHERE run_id = ? AND worker = ?",
            [(until, run_id, self.worker) for run_id in run_ids],
        )])  # fmt: skip

    async def claim_expired(self) -> list[StoredRun]:
        """Runs whose worker stopped renewing, now leased to this one (each to one worker)."""
        await self.flush()
        now = self._clock()
        rows = await self.backend.fetch(
            "UPDATE agentkit_runs SET worker = ?, lease_until = ?, updated = ?"
            " WHERE status = 'running' AND lease_until < ? RETURNING run_id",
            (self.worker, now + self.lease_seconds, now, now),
        )
        found = [await self.load(str(row[0])) for row in rows]
        return [run for run in found if run is not None]

    async def claim(self, run_id: str, owner: Principal) -> bool:
        """Lease a run no worker drives (paused, interrupted, or paused where this store
        never saw it: by the CLI) to this one to continue it; False when another worker
        has it (two decisions at once continue it once)."""
        await self.flush()
        now = self._clock()
        rows = await self.backend.fetch(
            "INSERT INTO agentkit_runs (run_id, user_id, workspace, status, worker,"
            " lease_until, origin, created, updated) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)"
            " ON CONFLICT (run_id) DO UPDATE SET status = 'running', worker = excluded.worker,"
            " lease_until = excluded.lease_until, updated = excluded.updated"
            " WHERE agentkit_runs.status <> 'running' RETURNING run_id",
            (run_id, owner.user_id, _space(owner), self.worker, now + self.lease_seconds,
             self.worker, now, now),
        )  # fmt: skip
        return bool(rows)

    # --- reads ------------------------------------------------------------------------------

    async def load(self, run_id: str, *, events: bool = True) -> StoredRun | None:
        await self.flush()
        rows = await self.backend.fetch(
            f"SELECT {_RUN_COLUMNS} FROM agentkit_runs WHERE run_id = ?", (run_id,)
        )
        if not rows:
            return None
        found = await self.events_after(run_id, 0) if events else []
        return _stored(rows[0], found)

    async def events_after(self, run_id: str, after: int) -> list[dict[str, Any]]:
        rows = await self.backend.fetch(
            "SELECT record FROM agentkit_run_events WHERE run_id = ? AND seq > ? ORDER BY seq",
            (run_id, after),
        )
        return [json.loads(row[0]) for row in rows]

    async def owned_by(self, principal: Principal) -> list[tuple[str, str]]:
        """(run id, status) of every run of `principal`."""
        await self.flush()
        rows = await self.backend.fetch(
            "SELECT run_id, status FROM agentkit_runs WHERE user_id = ? AND workspace = ?",
            (principal.user_id, _space(principal)),
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    async def usage_elsewhere(self) -> dict[tuple[str, str | None], Elsewhere]:
        """Per user: runs other workers drive now, and runs they started in the last minute
        and what those of the last day cost (for limits across workers)."""
        await self.flush()
        now = self._clock()
        rows = await self.backend.fetch(
            "SELECT user_id, workspace,"
            " SUM(CASE WHEN status = 'running' AND worker <> ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN origin <> ? AND created > ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN origin <> ? THEN cost_usd ELSE 0 END)"
            " FROM agentkit_runs WHERE updated > ? OR status = 'running'"
            " GROUP BY user_id, workspace",
            (self.worker, self.worker, now - 60, self.worker, now - DAY),
        )
        return {
            (str(user), workspace or None): Elsewhere(int(running or 0), int(started or 0),
                                                      float(cost or 0.0))
            for user, workspace, running, started, cost in rows
        }  # fmt: skip

    async def close(self) -> None:
        if self._ready:
            await self.flush()
        await self.backend.close()

    # --- inside -----------------------------------------------------------------------------

    async def _setup(self) -> None:
        if self._ready:
            return
        if self._setup_lock is None:
            self._setup_lock, self._write_lock = asyncio.Lock(), asyncio.Lock()
        async with self._setup_lock:
            if not self._ready:
                await self.backend.setup(_SCHEMA)
                self._ready = True

    def _queue(self, sql: str, params: Params) -> None:
        self._pending.append((sql, params))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self.flush()


def open_run_store(where: str | Path, **options: Any) -> RunStore:
    """The store at `where`: a ``postgresql://`` URL, else a SQLite file path."""
    return RunStore(backend_for(where), **options)


def _grouped(statements: list[tuple[str, Params]]) -> list[tuple[str, Sequence[Params]]]:
    """Consecutive runs of one statement as one executemany, order kept."""
    groups: list[tuple[str, list[Params]]] = []
    for sql, params in statements:
        if groups and groups[-1][0] == sql:
            groups[-1][1].append(params)
        else:
            groups.append((sql, [params]))
    return list(groups)


def _space(principal: Principal) -> str:
    return principal.workspace or ""  # NOT NULL, so one equality test scopes on both databases


def _stored(row: tuple[Any, ...], events: list[dict[str, Any]]) -> StoredRun:
    run_id, user_id, workspace, status, prompt, state, checkpoint, effect, worker = row
    return StoredRun(
        run_id=str(run_id),
        principal=Principal(user_id=user_id, workspace=workspace or None),
        status=str(status),
        prompt=prompt,
        state=json.loads(state) if state else None,
        checkpoint=checkpoint,
        effect=effect,
        worker=worker,
        events=events,
    )


def default_run_store_path(approvals: str | Path) -> str:
    """Where the runs go by default: the approvals store's PostgreSQL database (its own
    tables), or ``service.db`` beside its SQLite file."""
    text = str(approvals)
    if "://" in text:
        return text
    return str(Path(text).with_name("service.db"))
