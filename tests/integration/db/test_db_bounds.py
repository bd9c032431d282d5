"""Memory and time stay bounded whatever one query computes."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from agentkit.errors import DatabaseError, QueryRefused
from agentkit.tools.database import Database, QueryResult, QueryTimeout

MB = 1 << 20
GROWTH_LIMIT = 40 * MB
"""Resident memory one query may add, far below what the statements below would build."""


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def peak_growth() -> Iterator[Callable[[], int]]:
    """Sample resident memory while the block runs; yields a getter for the peak growth."""
    if not os.path.exists("/proc/self/statm"):
        pytest.skip("needs /proc to measure resident memory")
    base = resident_bytes()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], resident_bytes())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield lambda: peak[0] - base
    finally:
        done.set()
        sampler.join()
        peak[0] = max(peak[0], resident_bytes())


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, tables=["orders"], statement_timeout_s=3.0)
    yield database
    database.close()


def huge(db: Database, chars: int) -> str:
    """A text expression of `chars` characters built by the database."""
    return f"printf('%.*c', {chars}, 'x')" if db.dialect == "sqlite" else f"repeat('x', {chars})"


def big_statements(db: Database) -> list[str]:
    if db.dialect == "sqlite":
        return [
            "SELECT zeroblob(700000000) AS z",
            "SELECT length(zeroblob(700000000)) AS n",
            f"SELECT {huge(db, 200_000)} AS a, {huge(db, 200_000)} AS b FROM orders, orders o2,"
            " orders o3, orders o4",
            "SELECT " + ", ".join(f"randomblob(250000) AS b{i}" for i in range(60)),
        ]
    return [
        f"SELECT {huge(db, 10_000_000)} AS x FROM generate_series(1, 110)",
        f"SELECT {huge(db, 200_000_000)} AS x",
        "SELECT " + ", ".join(f"{huge(db, 4_000_000)} AS c{i}" for i in range(60)),
        f"SELECT ARRAY[{huge(db, 20_000_000)}] AS a, "
        f"jsonb_build_object('k', {huge(db, 20_000_000)}) AS j",
    ]


def run(db: Database, sql: str) -> QueryResult | QueryRefused:
    try:
        return db.query(sql)
    except QueryRefused as exc:
        return exc


def test_one_query_cannot_grow_memory_past_the_bound(db: Database) -> None:
    for sql in big_statements(db):
        with peak_growth() as growth:
            outcome = run(db, sql)
        if isinstance(outcome, QueryRefused):
            assert "size limit" in outcome.reason
        else:
            assert outcome.truncated
            assert all(len(str(cell)) <= 64_000 for row in outcome.rows for cell in row)
        assert growth() < GROWTH_LIMIT, (sql[:80], growth() // MB)


def test_values_that_fit_keep_their_types(db: Database) -> None:
    if db.dialect == "postgres":
        sql = (
            "SELECT 1 AS i, 2.5::float8 AS f, true AS b, ARRAY[1, 2] AS a, "
            "'{\"k\": [1]}'::jsonb AS j"
        )
        assert db.query(sql).rows == ((1, 2.5, True, [1, 2], {"k": [1]}),)
    result = db.query("SELECT id, id, status FROM orders ORDER BY id DESC")
    assert result.columns == ("id", "id", "status")
    assert result.rows[0] == (3, 3, "open")


def test_one_slow_function_call_per_row_stops_at_the_deadline(db_url: str) -> None:
    # every row makes one call of ~0.1 s that SQLite cannot break into; the deadline must
    # still hold within about one call
    with Database(db_url, tables=["orders"], statement_timeout_s=1.0) as db:
        if db.dialect != "sqlite":
            pytest.skip("PostgreSQL enforces statement_timeout itself")
        call = "instr(printf('%.*c', 100000 + n % 2, 'a'), printf('%.*c', 50000, 'a') || 'b')"
        sql = (
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 2000) "
            f"SELECT sum({call}) AS s FROM r"
        )
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            db.query(sql)
        elapsed = time.monotonic() - started
        assert elapsed < 2.5
        assert db.query("SELECT count(*) AS n FROM orders").rows == ((3,),)


def test_a_value_larger_than_the_limit_is_refused_with_a_reason(db_url: str) -> None:
    with Database(db_url, tables=["orders"]) as db:
        if db.dialect != "sqlite":
            pytest.skip("the SQLite length limit")
        with pytest.raises(QueryRefused, match="size limit"):
            db.query("SELECT zeroblob(300000) AS z")
        with pytest.raises(DatabaseError):
            db.query("SELECT count(*) FROM orders WHERE status LIKE '" + "%a" * 600 + "'")
