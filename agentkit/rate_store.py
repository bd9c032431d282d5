"""A per-minute rate window shared by every process that opens the same SQLite file.

```python
window = SqliteRateWindow(".agentkit/rate.db")
agent = OpsCopilot(rate_window=window)   # in every worker process
```
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentkit.pipeline.rate_window import RATE_WINDOW_SECONDS, WindowView

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (user_id TEXT NOT NULL, tool TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS calls_by_user ON calls (user_id, at);
CREATE INDEX IF NOT EXISTS calls_by_key ON calls (user_id, tool, at);
"""


class SqliteRateWindow:
    """The times of each principal's calls in the last minute, in one SQLite file (0600)."""

    def __init__(self, path: str | Path, *, window: float = RATE_WINDOW_SECONDS) -> None:
        self.path = Path(path)
        self._window = window
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def add(self, user_id: str, tool: str, at: float) -> None:
        with self._lock:
            db = self._connect()
            try:
                db.execute("INSERT INTO calls VALUES (?, ?, ?)", (user_id, tool, at))
                db.execute("DELETE FROM calls WHERE at < ?", (at - 2 * self._window,))
            finally:
                db.close()

    def snapshot(self, user_id: str, now: float) -> WindowView:
        """The window as of now; the last row written is noted here, so calls noted later
        (by any process) stay out of it even at the same instant."""
        horizon = now - self._window
        ((mark,),) = self._query("SELECT coalesce(max(rowid), 0) FROM calls", ())

        def keys() -> Iterator[str]:
            rows = self._query(
                "SELECT DISTINCT tool FROM calls"
                " WHERE user_id = ? AND at >= ? AND at <= ? AND rowid <= ?",
                (user_id, horizon, now, mark),
            )
            return iter([str(tool) for (tool,) in rows])

        def read(key: str) -> tuple[float, ...]:
            rows = self._query(
                "SELECT at FROM calls"
                " WHERE user_id = ? AND tool = ? AND at >= ? AND at <= ? AND rowid <= ?"
                " ORDER BY at",
                (user_id, key, horizon, now, mark),
            )
            return tuple(float(at) for (at,) in rows)

        return WindowView(keys, read)

    def _query(self, sql: str, parameters: tuple[object, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            db = self._connect()
            try:
                return db.execute(sql, parameters).fetchall()
            finally:
                db.close()
