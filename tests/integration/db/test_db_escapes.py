"""Hostile statements against real databases: each is refused or contained, nothing changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentkit.errors import DatabaseError, QueryRefused
from agentkit.tools.database import Database, QueryTimeout
from agentkit.tools.database.statement import CheckedStatement

Snapshot = Callable[[str], dict[str, object]]

MARKER = Path("/tmp/agentkit-db-escape-marker")

REFUSED = [
    # stacked queries and comment tricks
    "SELECT * FROM orders; DROP TABLE orders",
    "SELECT * FROM orders;\nDELETE FROM orders",
    "SELECT 1; -- harmless\nUPDATE orders SET total = 0",
    # other tables: UNION, subqueries, CTE shadowing, qualified and quoted names, catalogs
    "SELECT id, name, email FROM customers UNION SELECT id, value, NULL FROM secrets",
    "SELECT * FROM orders WHERE id IN (SELECT id FROM secrets)",
    "SELECT (SELECT value FROM secrets LIMIT 1) AS v",
    "SELECT * FROM orders o JOIN secrets s ON s.id = o.id",
    "WITH orders AS (SELECT * FROM secrets) SELECT * FROM orders",
    "WITH a AS (SELECT * FROM secrets), secrets AS (SELECT 1 AS id) SELECT * FROM a",
    "SELECT * FROM (WITH secrets AS (SELECT 1 AS id) SELECT * FROM secrets) x, secrets",
    'SELECT * FROM "secrets"',
    "SELECT * FROM SECRETS",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM information_schema.columns",
    "TABLE secrets",
    # functions that read files, run SQL text or change settings
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_catalog.pg_read_file('/etc/passwd')",
    "SELECT \"pg_read_file\"('/etc/passwd')",
    "SELECT * FROM pg_ls_dir('.')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT lo_export(1, '/tmp/agentkit-db-escape-marker')",
    "SELECT query_to_xml('select * from secrets', true, true, '')",
    "SELECT table_to_xml('secrets', true, true, '')",
    "SELECT readfile('/etc/passwd')",
    "SELECT writefile('/tmp/agentkit-db-escape-marker', 'x')",
    "SELECT load_extension('/tmp/evil')",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT current_setting('data_directory')",
    "SELECT pg_sleep(30)",
    "SELECT nextval('order_numbers')",
    "SELECT dblink('host=127.0.0.1', 'DELETE FROM orders')",
    "SELECT word FROM ts_stat('SELECT array_to_tsvector(ARRAY[value]) FROM secrets')",
    "SELECT word FROM ts_stat($$SELECT to_tsvector(value) FROM secrets$$)",
    "SELECT pg_advisory_lock(42)",
    "SELECT pg_terminate_backend(pg_backend_pid())",
    "SELECT * FROM pragma_table_info('secrets')",
    "SELECT file FROM pragma_database_list",
    # writes hidden in a read
    "WITH gone AS (DELETE FROM orders RETURNING *) SELECT * FROM gone",
    "WITH changed AS (UPDATE orders SET total = 0 RETURNING *) SELECT count(*) FROM changed",
    "SELECT * INTO stolen FROM orders",
    "SELECT * FROM orders FOR UPDATE",
    "SELECT * FROM orders FOR SHARE",
    "SELECT * FROM orders FOR NO KEY UPDATE",
    # not a query at all
    "DELETE FROM orders",
    "UPDATE orders SET total = 0 WHERE id = 1",
    "INSERT INTO orders VALUES (9, 1, 1, 'x')",
    "DROP TABLE orders",
    "CREATE TABLE stolen AS SELECT * FROM secrets",
    "ALTER TABLE orders ADD COLUMN x INT",
    "TRUNCATE orders",
    "COPY orders TO PROGRAM 'touch /tmp/agentkit-db-escape-marker'",
    "COPY (SELECT * FROM orders) TO '/tmp/agentkit-db-escape-marker'",
    "COPY orders FROM '/etc/passwd'",
    "SET ROLE postgres",
    "SET SESSION AUTHORIZATION postgres",
    "SET default_transaction_read_only = off",
    "RESET ALL",
    "BEGIN",
    "COMMIT",
    "ATTACH DATABASE '/tmp/agentkit-db-escape-marker' AS x",
    "PRAGMA query_only = OFF",
    "VACUUM",
    "EXPLAIN ANALYZE DELETE FROM orders",
    "DO $$ BEGIN DELETE FROM orders; END $$",
    "NOTIFY orders",
    "LOCK TABLE orders",
    "GRANT ALL ON secrets TO PUBLIC",
    "PREPARE p AS DELETE FROM orders",
    "CALL something()",
    # malformed and oversized
    "SELECT * FROM",
    "SELECT 'unterminated",
    "SELECT " + "1 + " * 10_000 + "1",
]

CONTAINED = [
    # comment and quoting tricks that parse as one harmless statement: what runs is that
    "SELECT count(*) AS n FROM orders WHERE status = 'open' -- '; DELETE FROM orders",
    "SELECT count(*) AS n FROM orders /* ; DELETE FROM orders; */",
    "SELECT count(*) AS n FROM orders WHERE status = 'x'';DELETE FROM orders;--'",
    "SELECT count(*) AS n FROM orders WHERE status = 'a:b' OR status = ':c'",
]


def test_nested_comments_are_read_the_way_the_database_reads_them(
    db: Database, db_url: str, snapshot: Snapshot
) -> None:
    # PostgreSQL nests block comments, SQLite does not: one statement there, three here.
    sql = "SELECT 1 AS n /* /* */ ; DELETE FROM orders; -- */"
    before = snapshot(db_url)
    if db.dialect == "postgres":
        assert db.query(sql).rows == ((1,),)
    else:
        with pytest.raises(QueryRefused, match="one statement"):
            db.query(sql)
    assert snapshot(db_url) == before


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(
        db_url,
        tables=["customers", "orders", "messages"],
        untrusted_columns={"messages": ["body"]},
        statement_timeout_s=1.0,
    )
    yield database
    database.close()


@pytest.fixture(autouse=True)
def _no_marker() -> Iterator[None]:
    MARKER.unlink(missing_ok=True)
    yield
    assert not MARKER.exists(), "a statement reached the file system"


def test_every_escape_is_refused_and_nothing_changes(
    db: Database, db_url: str, snapshot: Snapshot
) -> None:
    before = snapshot(db_url)
    accepted = []
    for sql in REFUSED:
        try:
            db.query(sql)
        except QueryRefused:
            continue
        accepted.append(sql)
    assert accepted == []
    assert snapshot(db_url) == before


@pytest.mark.parametrize("sql", CONTAINED)
def test_comment_and_quote_tricks_run_only_the_checked_statement(
    db: Database, db_url: str, sql: str, snapshot: Snapshot
) -> None:
    before = snapshot(db_url)
    result = db.query(sql)
    assert result.columns == ("n",)
    assert snapshot(db_url) == before


def test_deeply_nested_query_is_refused_or_runs_but_never_crashes(db: Database) -> None:
    sql = "SELECT " + "(" * 2_000 + "1" + ")" * 2_000 + " AS n"
    outcome: object
    try:
        outcome = db.query(sql).rows
    except QueryRefused as exc:
        outcome = exc.reason
    assert outcome == ((1,),) or "could not be parsed" in str(outcome)


def test_a_query_that_never_ends_is_cancelled_at_the_statement_timeout(
    db: Database, db_url: str, snapshot: Snapshot
) -> None:
    before = snapshot(db_url)
    endless = (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    )
    with pytest.raises(QueryTimeout):
        db.query(endless)
    assert db.query("SELECT count(*) AS n FROM orders").rows == ((3,),)  # connection still usable
    assert snapshot(db_url) == before


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM orders",
        "UPDATE orders SET total = 0",
        "CREATE TABLE stolen (a INTEGER)",
        "INSERT INTO orders VALUES (9, 1, 1, 'x')",
    ],
)
def test_the_read_connection_refuses_writes_even_when_the_guard_is_bypassed(
    db: Database, db_url: str, sql: str, monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot
) -> None:
    bypass = CheckedStatement(sql, "select", frozenset(), None, False, (), False)
    monkeypatch.setattr(db.guard, "check_query", lambda _sql, *_: bypass)
    before = snapshot(db_url)
    # SQLite: the read-only connection refuses; PostgreSQL: the server-side cursor the
    # query runs in cannot even hold a write, and the transaction is read-only besides.
    with pytest.raises(DatabaseError):
        db.query(sql)
    assert snapshot(db_url) == before


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("SELECT nextval('order_numbers')", "read-only transaction"),
        (
            "SELECT count(*) FROM (SELECT set_config('transaction_read_only', 'off', true)) s, "
            "(SELECT nextval('order_numbers')) n",
            "read-write mode must be set before any query",
        ),
    ],
)
def test_the_postgres_transaction_is_read_only_when_the_guard_is_bypassed(
    pg_database: Callable[[str], str],
    sql: str,
    error: str,
    monkeypatch: pytest.MonkeyPatch,
    snapshot: Snapshot,
) -> None:
    url = pg_database("bypass")
    before = snapshot(url)
    with Database(url, tables=["orders"]) as db:
        bypass = CheckedStatement(sql, "select", frozenset(), None, False, (), False)
        monkeypatch.setattr(db.guard, "check_query", lambda _sql, *_: bypass)
        with pytest.raises(DatabaseError, match=error):
            db.query(sql)
    assert snapshot(url) == before


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE orders",
        "ALTER TABLE orders ADD COLUMN x INT",
        "DELETE FROM customers WHERE id = 1",
        "DELETE FROM orders WHERE id = 1",
        "UPDATE orders SET total = 0",
        "UPDATE orders SET status = (SELECT value FROM secrets) WHERE id = 1",
        "INSERT INTO orders SELECT id, id, 0, value FROM secrets",
        "WITH gone AS (DELETE FROM customers RETURNING id) "
        "UPDATE orders SET status = 'x' WHERE id IN (SELECT id FROM gone)",
        "UPDATE orders SET status = 'x' WHERE id = 1; DROP TABLE orders",
        "SELECT * FROM orders",
        "UPDATE orders SET status = pg_read_file('/etc/passwd') WHERE id = 1",
    ],
)
def test_the_write_path_refuses_what_the_configuration_does_not_name(
    db_url: str, sql: str, snapshot: Snapshot
) -> None:
    before = snapshot(db_url)
    db = Database(db_url, tables=["customers"], write_tables={"orders": ["update"]})
    with db, pytest.raises(QueryRefused):
        db.execute(sql)
    assert snapshot(db_url) == before
