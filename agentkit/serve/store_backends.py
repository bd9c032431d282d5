"""The two databases the service's run store speaks to, behind one small async interface.

SQLite (the standard library's driver, on a thread of its own) is the embedded default:
one file, enough for one host and any number of worker processes on it. PostgreSQL
(psycopg's async connection) is for workers on several hosts. Both take the same
statements: they are written with ``?`` placeholders and a portable subset of SQL
(``ON CONFLICT``, ``RETURNING``).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

from agentkit.errors import ConfigError

Params = Sequence[Any]
_T = TypeVar("_T")


class Backend(Protocol):
    """What the run store needs of a database."""

    name: str

    async def setup(self, schema: Sequence[str]) -> None: ...

    async def transaction(self, statements: Sequence[tuple[str, Sequence[Params]]]) -> None:
        """Run each statement once per parameter row, in order, all or none."""

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Rows of one statement (committed at once when it writes, as ``RETURNING`` does)."""

    async def close(self) -> None: ...


class SQLiteBackend:
    """One sqlite3 connection on a thread of its own; each transaction goes to that thread
    whole (one hand-off per batch, where a per-statement async driver such as aiosqlite
    wakes the event loop once per statement: measured, that doubled a loaded service's
    wall time). Write-ahead logging for readers in other processes, a busy timeout so
    several workers on one file wait for each other, and ``synchronous=NORMAL``: a
    committed batch survives its process being killed, not a power cut (as the audit
    log's SQL sink by default)."""

    name = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="agentkit-run-store")

    async def _call(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, lambda: work(self._connection()))

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")
            self.path.chmod(0o600)
            self._db = db
        return self._db

    async def setup(self, schema: Sequence[str]) -> None:
        def create(db: sqlite3.Connection) -> None:
            for statement in schema:
                db.execute(statement)

        await self._call(create)

    async def transaction(self, statements: Sequence[tuple[str, Sequence[Params]]]) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in statements:
                    db.executemany(sql, rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

        await self._call(write)

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return await self._call(lambda db: [tuple(row) for row in db.execute(sql, params)])

    async def close(self) -> None:
        def shut(db: sqlite3.Connection) -> None:
            db.close()
            self._db = None

        if self._db is not None:
            await self._call(shut)
        self._thread.shutdown(wait=False)


class PostgresBackend:
    """One psycopg async connection per worker process; statements go one at a time (a
    worker's writes are batched above this, so one connection is not the bottleneck)."""

    name = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self._db: Any = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> Any:
        if self._db is None:
            try:
                import psycopg
            except ImportError:
                raise ConfigError(
                    "a PostgreSQL run store needs psycopg: pip install 'agentkit[serve,db]'"
                ) from None
            self._db = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        return self._db

    async def setup(self, schema: Sequence[str]) -> None:
        db = await self._connection()
        async with self._lock, db.transaction():
            # several workers starting at once would race on CREATE TABLE IF NOT EXISTS
            await db.execute("SELECT pg_advisory_xact_lock(4242424242)")
            for statement in schema:
                await db.execute(statement)

    async def transaction(self, statements: Sequence[tuple[str, Sequence[Params]]]) -> None:
        db = await self._connection()
        async with self._lock, db.transaction(), db.cursor() as cursor:
            for sql, rows in statements:
                await cursor.executemany(_pg(sql), rows)

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        db = await self._connection()
        async with self._lock:
            cursor = await db.execute(_pg(sql), params)
            rows = await cursor.fetchall()
        return [tuple(row) for row in rows]

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


def backend_for(where: str | Path) -> Backend:
    """A backend for a ``postgresql://`` URL, else for a SQLite file path."""
    text = str(where)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresBackend(text)
    if "://" in text:
        raise ConfigError(f"a run store is a SQLite path or a postgresql:// URL, not {text!r}")
    return SQLiteBackend(text)
