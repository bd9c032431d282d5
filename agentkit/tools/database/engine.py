"""Connections for the database tools: URLs, read-only engines, timeouts, error mapping.

SQLAlchemy is imported inside the functions so that importing agentkit stays light.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
import os
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from agentkit.errors import ConfigError, DatabaseError, QueryRefused, QueryTimeout

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

# SQLAlchemy backend name -> sqlglot dialect
DIALECTS = {
    "postgresql": "postgres",
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "tsql",
    "oracle": "oracle",
    "duckdb": "duckdb",
}
LIKE_PATTERN_CHARS = 1_000
"""SQLite: longest LIKE/GLOB pattern (the work of one match grows with its length)."""
_PG_QUERY_CANCELED = "57014"
_PG_READ_ONLY_TRANSACTION = "25006"
_SYSTEM_RANDOM = secrets.SystemRandom()


def parse_url(url: str) -> URL:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"invalid database URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine(url: URL, *, read_only: bool, max_value_bytes: int) -> Engine:
    import sqlalchemy
    from sqlalchemy import event

    backend = url.get_backend_name()
    if backend == "sqlite":
        target = _sqlite_url(url, read_only=read_only)
        engine = sqlalchemy.create_engine(target)
        if read_only:
            event.listen(engine, "connect", _sqlite_read_connection(max_value_bytes))
        return engine
    connect_args: dict[str, Any] = {}
    if backend == "postgresql" and read_only and url.get_driver_name() in ("psycopg", "psycopg2"):
        # a third net under the guard and SET TRANSACTION READ ONLY
        connect_args["options"] = "-c default_transaction_read_only=on"
    engine = sqlalchemy.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    if backend == "postgresql":
        event.listen(engine, "reset", _discard_session_state)
    return engine


def _discard_session_state(dbapi_connection: Any, _record: Any, reset_state: Any) -> None:
    """Return a pooled PostgreSQL connection as new: no locks, settings, temp tables, plans.

    A rollback ends the transaction but leaves session-level state (advisory locks,
    SET, temporary tables, prepared statements) to the next borrower. DISCARD ALL clears
    it but not the seed of random(), so the seed is replaced with one from the system's
    random source: a seed set earlier does not tell the next borrower what random() gives.
    """
    dbapi_connection.rollback()
    if reset_state.terminate_only:
        return
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # DISCARD ALL cannot run inside a transaction
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("DISCARD ALL")
        cursor.execute("SELECT setseed(%s)", [_fresh_seed()])
        cursor.close()
    finally:
        dbapi_connection.autocommit = autocommit


def _fresh_seed() -> float:
    """A seed for random() nobody can know: DISCARD ALL keeps the session's seed."""
    return _SYSTEM_RANDOM.uniform(-1.0, 1.0)


def _sqlite_url(url: URL, *, read_only: bool) -> URL:
    database = url.database or ""
    if database in ("", ":memory:") or "mode=memory" in database:
        raise ConfigError("SQLite must be a file (an in-memory database is not shared)")
    if not read_only:
        return url
    if url.query.get("uri") == "true" or database.startswith("file:"):
        return url.update_query_dict({"mode": "ro", "uri": "true"})
    path = quote(os.path.abspath(database))
    return url.set(database=f"file:{path}").update_query_dict({"mode": "ro", "uri": "true"})


def _sqlite_read_connection(max_value_bytes: int) -> Callable[[Any, Any], None]:
    def configure(dbapi_connection: Any, _record: Any) -> None:
        # SQLite runs in this process: no string or blob it builds may exceed the limit,
        # which also bounds the time of one call (instr, LIKE) that nothing can interrupt
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max_value_bytes)
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, LIKE_PATTERN_CHARS)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only = ON")
        cursor.close()

    return configure


@contextmanager
def sqlite_deadline(conn: Connection, seconds: float, backend: str) -> Iterator[None]:
    """SQLite has no statement timeout: it is interrupted at the deadline.

    A progress handler stops long loops of small steps; a timer calling interrupt() stops
    a single long step (one function call) that the handler never gets to see.
    """
    if backend != "sqlite":
        yield
        return
    raw: Any = conn.connection.driver_connection
    deadline = time.monotonic() + seconds
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    running = threading.Lock()
    active = [True]

    def interrupt() -> None:
        with running:
            if active[0]:  # never interrupt whatever runs on the connection next
                raw.interrupt()

    timer = threading.Timer(seconds, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with running:
            active[0] = False
        timer.cancel()
        raw.set_progress_handler(None, 0)


def database_error(exc: Exception, timeout_s: float) -> DatabaseError:
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    message = first_line(orig)
    if sqlstate == _PG_QUERY_CANCELED or message == "interrupted":
        return QueryTimeout(f"the statement ran longer than {timeout_s:g}s and was cancelled")
    if message == "string or blob too big":
        return QueryRefused(
            "a value would exceed the size limit for one value; select a part (substr) "
            "or an aggregate (length) instead"
        )
    if sqlstate == _PG_READ_ONLY_TRANSACTION or "readonly database" in message:
        return QueryRefused(f"the database refused a write on a read-only connection ({message})")
    return DatabaseError(f"the database returned an error: {message}")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def json_row(row: Sequence[Any], cell_cap: int) -> tuple[tuple[Any, ...], bool]:
    """A row as JSON-safe values, long text cut to `cell_cap` characters; True if any was cut."""
    cut = False
    out = []
    for value in row:
        safe = json_value(value)
        if isinstance(safe, str) and len(safe) > cell_cap:
            safe, cut = safe[:cell_cap], True
        out.append(safe)
    return tuple(out), cut


def json_value(value: Any) -> Any:
    """One database value as JSON: exact numbers as strings, bytes as base64, times ISO 8601."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time | dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return "base64:" + base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)
