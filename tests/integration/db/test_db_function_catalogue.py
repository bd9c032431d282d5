"""The function allow list against every function the installed databases know.

Each name is called in several shapes (no to three arguments, quoted, schema-qualified, as
a table function). A name not on the allow list must be refused in every shape; a name
on it must pass the guard in at least one.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit.errors import QueryRefused
from agentkit.tools.database.guard import SqlGuard
from agentkit.tools.database.rules import ALLOWED_FUNCTIONS

ARGUMENTS = ("", "1", "1, 2", "'a', 'b', 'c'")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def calls(name: str, schema: str) -> Iterator[str]:
    """Ways to call a function of this name."""
    quoted = '"' + name.replace('"', '""') + '"'
    for args in ARGUMENTS:
        if IDENTIFIER.fullmatch(name):
            yield f"SELECT {name}({args}) FROM orders"
            yield f"SELECT * FROM {name}({args})"
        yield f"SELECT {quoted}({args})"
        yield f"SELECT {schema}.{quoted}({args})"
        yield f"SELECT * FROM {schema}.{quoted}({args}) AS f"


def passes(guard: SqlGuard, sql: str) -> bool:
    try:
        guard.check_query(sql)
    except QueryRefused:
        return False
    return True


def judge(guard: SqlGuard, names: set[str], schema: str) -> tuple[list[str], list[str]]:
    """(names off the list that got through in some shape, listed names refused in every one)."""
    slipped = []
    blocked = []
    for name in sorted(names):
        accepted = [sql for sql in calls(name, schema) if passes(guard, sql)]
        if name in guard.allowed_functions and not accepted:
            blocked.append(name)
        elif name not in guard.allowed_functions and accepted:
            slipped.append(f"{name}: {accepted[0]}")
    return slipped, blocked


@pytest.mark.postgres
def test_every_postgres_function_off_the_list_is_refused(
    postgres_server: Any,
) -> None:
    import psycopg

    server = postgres_server
    dsn = f"host={server.host} port={server.port} user={server.user} dbname=postgres"
    with psycopg.connect(dsn) as conn:
        names = {row[0] for row in conn.execute("SELECT DISTINCT proname FROM pg_proc")}
    assert len(names) > 2000
    guard = SqlGuard("postgres", tables=["orders"])
    slipped, blocked = judge(guard, names, "pg_catalog")
    assert slipped == []
    assert blocked == []
    listed = {name for name in ALLOWED_FUNCTIONS["postgres"] if name in names}
    assert len(listed) > 250
    assert {"ts_stat", "ts_rewrite", "query_to_xml", "pg_advisory_lock"} <= names


def sqlite_catalogue() -> set[str]:
    """Scalar, aggregate and window functions, virtual tables and pragma functions."""
    conn = sqlite3.connect(":memory:")
    try:
        functions = {row[0] for row in conn.execute("SELECT name FROM pragma_function_list")}
        modules = {row[0] for row in conn.execute("SELECT name FROM pragma_module_list")}
        pragmas = {
            "pragma_" + row[0] for row in conn.execute("SELECT name FROM pragma_pragma_list")
        }
    finally:
        conn.close()
    return {name for name in functions | modules | pragmas if IDENTIFIER.fullmatch(name)}


def test_every_sqlite_function_off_the_list_is_refused() -> None:
    names = sqlite_catalogue()
    assert {"pragma_table_info", "pragma_database_list", "load_extension"} <= names
    guard = SqlGuard("sqlite", tables=["orders"])
    slipped, blocked = judge(guard, names, "main")
    assert slipped == []
    assert blocked == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT word FROM ts_stat('SELECT array_to_tsvector(ARRAY[value]) FROM secrets')",
        "SELECT ts_rewrite('a'::tsquery, 'SELECT t, s FROM secrets')",
        "SELECT * FROM pg_catalog.ts_stat('SELECT 1')",
        "SELECT \"ts_stat\"('SELECT 1')",
        "SELECT pg_advisory_lock(1)",
        "SELECT pg_catalog.upper('x')",
        "SELECT 'secrets'::regclass",
        "SELECT CAST('secrets' AS pg_catalog.regclass)",
        "SELECT current_user",
        "SELECT CURRENT_SETTING('data_directory')",
    ],
)
def test_postgres_calls_the_review_found_are_refused(sql: str) -> None:
    guard = SqlGuard("postgres", tables=["orders"])
    with pytest.raises(QueryRefused):
        guard.check_query(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM pragma_table_info('secrets')",
        "SELECT * FROM pragma_database_list",
        "SELECT name FROM pragma_table_list",
        "SELECT file FROM pragma_database_list()",
        "SELECT * FROM PRAGMA_TABLE_INFO('secrets')",
        "SELECT (SELECT group_concat(name) FROM pragma_table_list()) AS t FROM orders",
        "SELECT * FROM main.pragma_table_info('secrets')",
        "SELECT sqlite_version()",
        "SELECT load_extension('x')",
    ],
)
def test_sqlite_pragma_functions_are_refused(sql: str) -> None:
    guard = SqlGuard("sqlite", tables=["orders"])
    with pytest.raises(QueryRefused):
        guard.check_query(sql)
