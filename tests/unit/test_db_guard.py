"""The SQL guard on its own: parsing decisions, no database."""

from __future__ import annotations

import pytest

from agentkit.errors import ConfigError, QueryParamsInvalid, QueryRefused
from agentkit.tools.database.guard import SqlGuard


@pytest.fixture(params=["postgres", "sqlite"])
def guard(request: pytest.FixtureRequest) -> SqlGuard:
    return SqlGuard(
        request.param,
        tables=["orders", "customers", "messages"],
        write_tables={"orders": ["insert", "update"]},
        untrusted_columns={"messages": ["body"]},
    )


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT * FROM secrets", "table 'secrets' is not allowed"),
        ("SELECT 1; SELECT 2", "exactly one statement"),
        ("DELETE FROM orders", "only SELECT"),
        ("SELECT * FROM orders FOR UPDATE", "locking"),
        ("SELECT * INTO x FROM orders", "INTO"),
        ("WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d", "DELETE"),
        ("SELECT pg_read_file('x')", "pg_read_file"),
        ("SELECT pg_stat_activity()", "pg_stat_activity"),
        ("SELECT * FROM orders WHERE id = $1", "placeholders"),
        ("SELEC 1", "parsed"),
        ("SELECT 1 FROM " + "x, " * 8_000 + "x", "longer than"),
        ("SELECT * FROM other.orders", "not allowed"),
        ("SELECT * FROM db.public.orders", "database-qualified"),
    ],
)
def test_refusals_say_why(guard: SqlGuard, sql: str, reason: str) -> None:
    with pytest.raises(QueryRefused) as caught:
        guard.check_query(sql)
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM orders",
        "select o.id from ORDERS o join customers c on c.id = o.customer_id",
        "WITH big AS (SELECT * FROM orders WHERE total > 10) SELECT count(*) FROM big",
        "WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT * FROM b",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) "
        "SELECT * FROM r",
        "SELECT id FROM orders UNION SELECT id FROM customers",
        "SELECT * FROM (SELECT id FROM orders) AS sub",
    ],
)
def test_ordinary_queries_pass(guard: SqlGuard, sql: str) -> None:
    assert guard.check_query(sql).kind == "select"


def test_schema_qualified_default_schema_is_the_configured_table() -> None:
    guard = SqlGuard("postgres", tables=["orders"])
    assert guard.check_query("SELECT * FROM public.orders").kind == "select"
    with pytest.raises(QueryRefused):
        guard.check_query('SELECT * FROM "Orders"')  # a different table in PostgreSQL


def test_quoted_names_are_case_insensitive_in_sqlite_only() -> None:
    assert SqlGuard("sqlite", tables=["orders"]).check_query('SELECT * FROM "ORDERS"')
    with pytest.raises(QueryRefused):
        SqlGuard("postgres", tables=["orders"]).check_query('SELECT * FROM "ORDERS"')


def test_catalog_tables_need_to_be_configured() -> None:
    guard = SqlGuard("postgres", tables=["orders", "information_schema.tables"])
    assert guard.check_query("SELECT table_name FROM information_schema.tables")
    with pytest.raises(QueryRefused):
        guard.check_query("SELECT * FROM information_schema.columns")


def test_the_sql_that_runs_is_regenerated_without_comments(guard: SqlGuard) -> None:
    checked = guard.check_query("SELECT id /* note */ FROM orders -- trailing\nWHERE id = ?")
    assert "note" not in checked.sql
    assert "trailing" not in checked.sql
    assert ":p0" in checked.sql


def test_placeholders_bind_by_position_or_by_name(guard: SqlGuard) -> None:
    positional = guard.check_query("SELECT * FROM orders WHERE id = ? AND total > ?")
    named = guard.check_query("SELECT * FROM orders WHERE id = :id OR customer_id = :id")
    assert positional.bind([1, 2]) == {"p0": 1, "p1": 2}
    assert named.bind({"id": 3}) == {"id": 3}
    with pytest.raises(QueryParamsInvalid):
        positional.bind([1])
    with pytest.raises(QueryParamsInvalid):
        named.bind([3])
    with pytest.raises(QueryRefused, match="not both"):
        guard.check_query("SELECT * FROM orders WHERE id = ? AND total = :t")


def test_untrusted_label_follows_the_columns(guard: SqlGuard) -> None:
    assert guard.check_query("SELECT upper(body) FROM messages").untrusted
    assert guard.check_query("SELECT m.* FROM messages m").untrusted
    assert guard.check_query("SELECT x FROM messages AS x").untrusted  # whole-row value
    assert not guard.check_query("SELECT author FROM messages").untrusted


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DELETE FROM orders WHERE id = 1", "DELETE on table 'orders'"),
        ("UPDATE customers SET name = 'x' WHERE id = 1", "not writable"),
        ("UPDATE orders SET total = 0", "without a WHERE"),
        ("INSERT INTO orders SELECT * FROM secrets", "secrets"),
        ("DROP TABLE orders", "only INSERT, UPDATE or DELETE"),
        ("INSERT OR REPLACE INTO orders (id) VALUES (1)", "DELETE"),
    ],
)
def test_write_refusals(sql: str, reason: str) -> None:
    guard = SqlGuard("sqlite", tables=["customers"], write_tables={"orders": ["insert", "update"]})
    with pytest.raises(QueryRefused) as caught:
        guard.check_write(sql)
    assert reason in caught.value.reason


def test_an_upsert_needs_update_as_well_as_insert() -> None:
    sql = "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET total = 0"
    insert_only = SqlGuard("postgres", tables=[], write_tables={"orders": ["insert"]})
    both = SqlGuard("postgres", tables=[], write_tables={"orders": ["insert", "update"]})
    with pytest.raises(QueryRefused, match="UPDATE"):
        insert_only.check_write(sql)
    assert both.check_write(sql).target == ("", "orders")


def test_configuration_mistakes_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        SqlGuard("postgres", tables="orders")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        SqlGuard("postgres", tables=[], write_tables={"orders": ["drop"]})
    with pytest.raises(ConfigError):
        SqlGuard("no-such-dialect", tables=[])
