"""A pooled PostgreSQL connection comes back from the pool without the last borrower's state."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text

from agentkit.tools.database import Database
from agentkit.tools.database.statement import CheckedStatement

pytestmark = pytest.mark.postgres


@pytest.fixture
def url(pg_database: Callable[[str], str]) -> str:
    return pg_database("pool_reset")


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = Database(url, tables=["orders"])
    yield database
    database.close()


def try_lock_elsewhere(url: str, key: int) -> bool:
    """Whether a separate session can take the advisory lock `key` (and then lets it go)."""
    import psycopg

    with psycopg.connect(url) as conn:
        taken = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
        conn.execute("SELECT pg_advisory_unlock_all()")
    return bool(taken and taken[0])


def test_session_state_set_on_a_checkout_does_not_reach_the_next(db: Database) -> None:
    engine = db._engine("read")
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        conn.exec_driver_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
        conn.exec_driver_sql("SET application_name = 'left-behind'")
        conn.exec_driver_sql("SELECT pg_advisory_lock(4242)")
        conn.commit()
        conn.exec_driver_sql("CREATE TEMP TABLE left_behind (a int)")
        conn.commit()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() == pid  # same session
        locks = conn.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = :pid"),
            {"pid": pid},
        ).scalar()
        temp = conn.exec_driver_sql("SELECT to_regclass('pg_temp.left_behind')").scalar()
        assert (locks, temp) == (0, None)
        assert conn.exec_driver_sql("SHOW application_name").scalar() == ""
        assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "on"


def test_an_advisory_lock_taken_by_a_query_is_released(
    db: Database, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the guard refuses the function; this checks the net under it
    sql = "SELECT pg_advisory_lock(4343) AS locked"
    bypass = CheckedStatement(sql, "select", frozenset(), None, False, (), False)
    monkeypatch.setattr(db.guard, "check_query", lambda _sql, *_: bypass)
    db.query(sql)
    assert try_lock_elsewhere(url, 4343)


def test_statements_the_driver_prepared_survive_the_reset(db: Database) -> None:
    # psycopg prepares a statement after a few runs; DISCARD ALL drops it server-side
    counts = {
        db.query("SELECT count(*) AS n FROM orders WHERE id > ?", [0]).rows for _ in range(12)
    }
    assert counts == {((3,),)}
