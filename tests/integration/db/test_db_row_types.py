"""A table the guard does not allow stays hidden behind its row type, however it is named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit.errors import QueryRefused
from agentkit.tools.database import Database

pytestmark = pytest.mark.postgres

# what must never come back: the secrets table's own column name and its values
HIDDEN = ("vault_pin_zq", "pin-7731-zq", "hunter2")

SETUP_SQL = """
CREATE TABLE orders (id INTEGER PRIMARY KEY, total NUMERIC(10, 2), status TEXT);
CREATE TABLE secrets (id INTEGER PRIMARY KEY, value TEXT, vault_pin_zq TEXT);
INSERT INTO orders VALUES (1, 10.50, 'open'), (2, 3.00, 'shipped');
INSERT INTO secrets VALUES (1, 'hunter2', 'pin-7731-zq');
"""

ROW_TYPE_SPELLINGS = [
    "SELECT * FROM jsonb_populate_record(NULL::secrets, '{}')",
    "SELECT * FROM json_populate_record(NULL::secrets, '{}')",
    "SELECT * FROM jsonb_populate_recordset(NULL::secrets, '[{}]')",
    "SELECT * FROM json_populate_recordset(NULL::secrets, '[{}]')",
    "SELECT * FROM jsonb_populate_record(NULL::orders, '{}')",
    "SELECT to_jsonb(NULL::secrets) AS j",
    "SELECT row_to_json(NULL::secrets) AS j",
    "SELECT (NULL::secrets).* FROM orders",
    "SELECT (NULL::public.secrets).vault_pin_zq",
    'SELECT (NULL::"secrets").*',
    "SELECT (NULL::SECRETS).*",
    "SELECT to_jsonb(ROW(1, 'a', 'b')::secrets) AS j",
    "SELECT to_jsonb('(1,a,b)'::secrets) AS j",
    "SELECT to_jsonb(CAST(NULL AS secrets)) AS j",
    "SELECT to_jsonb(CAST(NULL AS public.secrets)) AS j",
    "SELECT to_jsonb(ARRAY[NULL::secrets]) AS j",
    "SELECT to_jsonb(NULL::secrets[]) AS j",
    "SELECT to_jsonb('{}'::secrets[]) AS j",
    "SELECT to_jsonb(CAST(NULL AS secrets[])) AS j",
    "SELECT pg_typeof(NULL::secrets)::text AS t",
    "SELECT pg_typeof((NULL::secrets).vault_pin_zq)::text AS t",
    "SELECT * FROM jsonb_to_record('{}') AS t(s secrets)",
    "SELECT * FROM jsonb_to_recordset('[{}]') AS t(id int, s secrets[])",
    "SELECT * FROM json_to_record('{}') AS t(s public.secrets)",
    "SELECT id::secrets FROM orders",
    "SELECT NULL::record",
    "SELECT NULL::anyelement",
    "SELECT NULL::pg_catalog.text",
    "SELECT 'secrets'::regclass::oid",
    "SELECT 'secrets'::regtype",
    "SELECT * FROM orders WHERE id = (SELECT (NULL::secrets).id)",
    "SELECT (jsonb_populate_record(o, '{}')).* FROM orders o",
]


@pytest.fixture(scope="module")
def db(pg_database_module: str) -> Iterator[Database]:
    database = Database(pg_database_module, tables=["orders"])
    yield database
    database.close()


@pytest.fixture(scope="module")
def pg_database_module(postgres_server: Any) -> str:
    """A database of its own: `orders` allowed, `secrets` with a telltale column name."""
    import psycopg

    admin = f"host={postgres_server.host} port={postgres_server.port} user={postgres_server.user}"
    with psycopg.connect(f"{admin} dbname=postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS row_types")
        conn.execute("CREATE DATABASE row_types")
    with psycopg.connect(f"{admin} dbname=row_types") as conn:
        conn.execute(SETUP_SQL)
    url: str = postgres_server.url("row_types")
    return url


def run(db: Database, sql: str) -> str:
    """What a query gives back, as text: its result, or its error's type and message."""
    try:
        return json.dumps(db.query(sql).as_dict(), default=str)
    except Exception as exc:  # the test reports whatever came back
        return f"{type(exc).__name__}: {exc}"


def hidden_in(text: str) -> list[str]:
    return [word for word in HIDDEN if word in text.lower()]


@pytest.mark.parametrize("sql", ROW_TYPE_SPELLINGS)
def test_a_row_type_spelling_is_refused_before_it_runs(db: Database, sql: str) -> None:
    with pytest.raises(QueryRefused) as refused:
        db.guard.check_query(sql)
    assert hidden_in(str(refused.value)) == []


@pytest.mark.parametrize("sql", ROW_TYPE_SPELLINGS)
def test_nothing_of_the_hidden_table_comes_back(db: Database, sql: str) -> None:
    outcome = run(db, sql)
    assert outcome.startswith("QueryRefused:"), outcome
    assert hidden_in(outcome) == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id::int AS i, total::numeric(10, 2) AS t, status::varchar(8) AS s FROM orders",
        "SELECT CAST(id AS bigint) AS i, id::text::int AS j, ARRAY[id]::int[] AS a FROM orders",
        "SELECT now()::timestamptz AS n, '1 day'::interval AS d, '{}'::jsonb AS j FROM orders",
        "SELECT * FROM jsonb_to_record('{\"a\": 1}') AS t(a int, b text)",
        "SELECT to_jsonb(o) AS j FROM orders o",
    ],
)
def test_built_in_scalar_types_still_work(db: Database, sql: str) -> None:
    assert len(db.query(sql).rows) >= 1


def test_the_secret_is_really_there(pg_database_module: str) -> None:
    # the hidden table holds what the other tests look for, so their silence means something
    import psycopg

    with psycopg.connect(pg_database_module) as conn:
        row = conn.execute("SELECT to_jsonb(s)::text FROM secrets s").fetchone()
    assert row is not None
    assert len(hidden_in(row[0])) == 3
