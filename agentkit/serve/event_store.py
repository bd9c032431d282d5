"""The service's runs and their events on disk (SQLite), so a restart loses none of them.

Events are written in batches by one background task (a write per event would cost more
than the event), at most `FLUSH_SECONDS` after they happened; a run's owner is stored with
it, so scoping holds for runs an earlier process started. A run that was in progress when
its process died is reported ``interrupted``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.decision import Principal

FLUSH_SECONDS = 0.05
_SCHEMA = """
CREATE TABLE IF NOT EXISTS service_runs (
    run_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, workspace TEXT,
    status TEXT NOT NULL, state TEXT);
CREATE TABLE IF NOT EXISTS service_events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (run_id, seq));
"""


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    principal: Principal
    status: str
    state: dict[str, Any] | None
    events: list[dict[str, Any]]


class EventStore:
    """SQLite: one connection, written from a worker thread, batched."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self.path.chmod(0o600)
        self._lock = threading.Lock()
        self._pending: list[tuple[str, int, str]] = []
        self._runs: dict[str, tuple[str, str | None, str, str | None]] = {}
        self._flusher: asyncio.Task[None] | None = None

    def started(self, run_id: str, owner: Principal) -> None:
        self._runs[run_id] = (owner.user_id, owner.workspace, "running", None)
        self._wake()

    def event(self, run_id: str, record: dict[str, Any]) -> None:
        self._pending.append((run_id, int(record["seq"]), json.dumps(record)))
        self._wake()

    def ended(self, run_id: str, owner: Principal, status: str, state: dict[str, Any]) -> None:
        self._runs[run_id] = (owner.user_id, owner.workspace, status, json.dumps(state))
        self._wake()

    async def flush(self) -> None:
        """Write everything recorded so far."""
        events, self._pending = self._pending, []
        runs, self._runs = self._runs, {}
        if events or runs:
            await asyncio.to_thread(self._write, events, runs)

    async def load(self, run_id: str) -> StoredRun | None:
        await self.flush()
        return await asyncio.to_thread(self._read, run_id)

    async def owned_by(self, principal: Principal) -> list[tuple[str, str]]:
        await self.flush()
        return await asyncio.to_thread(self._list, principal)

    def mark_interrupted(self) -> None:
        """At start-up: runs an earlier process left in progress can no longer finish."""
        with self._lock, self._db:
            self._db.execute("UPDATE service_runs SET status='interrupted' WHERE status='running'")

    def _wake(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self.flush()

    def _write(
        self,
        events: list[tuple[str, int, str]],
        runs: dict[str, tuple[str, str | None, str, str | None]],
    ) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO service_runs VALUES (?, ?, ?, ?, ?) ON CONFLICT(run_id) DO UPDATE"
                " SET status=excluded.status, state=COALESCE(excluded.state, state)",
                [(r, *values) for r, values in runs.items()],
            )
            self._db.executemany("INSERT OR IGNORE INTO service_events VALUES (?, ?, ?)", events)

    def _read(self, run_id: str) -> StoredRun | None:
        with self._lock:
            row = self._db.execute(
                "SELECT user_id, workspace, status, state FROM service_runs WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                return None
            records = self._db.execute(
                "SELECT record FROM service_events WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
        owner = Principal(user_id=row[0], workspace=row[1])
        state = json.loads(row[3]) if row[3] else None
        return StoredRun(run_id, owner, row[2], state, [json.loads(r[0]) for r in records])

    def _list(self, principal: Principal) -> list[tuple[str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT run_id, status FROM service_runs WHERE user_id = ? AND workspace IS ?",
                (principal.user_id, principal.workspace),
            ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]
