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
from pathlib import Path

from agentkit.pipeline.authorise import RATE_WINDOW_SECONDS

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (user_id TEXT NOT NULL, tool TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS calls_by_user ON calls (user_id, at);
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

    def snapshot(self, user_id: str, now: float) -> dict[str, tuple[float, ...]]:
        with self._lock:
            db = self._connect()
            try:
                rows = db.execute(
                    "SELECT tool, at FROM calls WHERE user_id = ? AND at >= ? ORDER BY at",
                    (user_id, now - self._window),
                ).fetchall()
            finally:
                db.close()
        found: dict[str, list[float]] = {}
        for tool, at in rows:
            found.setdefault(str(tool), []).append(float(at))
        return {tool: tuple(times) for tool, times in found.items()}
