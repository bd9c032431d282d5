"""A seed for random() set on a pooled PostgreSQL connection does not reach the next borrower."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import Connection

from agentkit.errors import QueryRefused
from agentkit.tools.database import Database
from agentkit.tools.database.statement import CheckedStatement

pytestmark = pytest.mark.postgres

SEED = 0.5
DRAWS = "SELECT random() FROM generate_series(1, 8)"


@pytest.fixture
def url(pg_database: Callable[[str], str]) -> str:
    return pg_database("pool_seed")


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = Database(url, tables=["orders"])
    yield database
    database.close()


@pytest.fixture
def seeded_sequence(url: str) -> list[float]:
    """What random() gives right after setseed(SEED), on a connection of its own."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("SELECT setseed(%s)", [SEED])
        return [row[0] for row in conn.execute(DRAWS).fetchall()]


def draws(conn: Connection) -> list[float]:
    return [row[0] for row in conn.exec_driver_sql(DRAWS).fetchall()]


def seed_committed(conn: Connection) -> None:
    conn.exec_driver_sql(f"SELECT setseed({SEED})")
    conn.commit()


def seed_rolled_back(conn: Connection) -> None:
    conn.exec_driver_sql(f"SELECT setseed({SEED})")
    conn.rollback()


def seed_left_open(conn: Connection) -> None:
    conn.exec_driver_sql(f"SELECT setseed({SEED})")  # the pool's reset rolls it back


def seed_in_a_failed_transaction(conn: Connection) -> None:
    conn.exec_driver_sql(f"SELECT setseed({SEED})")
    with pytest.raises(Exception, match="division by zero"):
        conn.exec_driver_sql("SELECT 1 / 0")


@pytest.mark.parametrize(
    "seed", [seed_committed, seed_rolled_back, seed_left_open, seed_in_a_failed_transaction]
)
def test_the_next_checkout_does_not_continue_a_seeded_sequence(
    db: Database, seeded_sequence: list[float], seed: Callable[[Connection], None]
) -> None:
    engine = db._engine("read")
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        seed(conn)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() == pid  # same session
        assert draws(conn) != seeded_sequence


def test_a_seed_set_through_a_query_does_not_reach_the_next_query(
    db: Database, seeded_sequence: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the guard refuses setseed (below); this checks the net under it
    sql = f"SELECT setseed({SEED}) AS s"
    bypass = CheckedStatement(sql, "select", frozenset(), None, False, (), False)
    with monkeypatch.context() as patched:
        patched.setattr(db.guard, "check_query", lambda _sql, *_: bypass)
        db.query(sql)
    rows = db.query("SELECT random() AS r FROM generate_series(1, 8)").rows
    assert [row[0] for row in rows] != seeded_sequence


def test_the_seeded_sequence_is_reproducible_without_the_reset(
    url: str, seeded_sequence: list[float]
) -> None:
    # the comparison above means something: a session's seed does survive a rollback
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("SELECT setseed(%s)", [SEED])
        conn.rollback()
        again = [row[0] for row in conn.execute(DRAWS).fetchall()]
    assert again == seeded_sequence


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT setseed(0.5)",
        'SELECT "setseed"(0.5)',
        "SELECT pg_catalog.setseed(0.5)",
        "SELECT * FROM setseed(0.5)",
        "SELECT id FROM orders WHERE setseed(0.5) IS NULL",
    ],
)
def test_the_guard_refuses_setseed(db: Database, sql: str) -> None:
    assert "setseed" not in db.guard.allowed_functions
    with pytest.raises(QueryRefused):
        db.guard.check_query(sql)
