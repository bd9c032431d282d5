"""Queries over `messages` (untrusted column `body`), spelled many ways, for label tests."""

from __future__ import annotations

from itertools import product

COLUMN_REFS = ("body", "m.body", '"body"', 'm."body"', "BODY", "messages.body")
SHAPES = (
    "SELECT {c} FROM messages{m}",
    "SELECT upper({c}) AS x FROM messages{m}",
    "SELECT id FROM messages{m} WHERE {c} LIKE '%Ignore%'",
    "SELECT x FROM (SELECT {c} AS x FROM messages{m}) AS s",
    "WITH c AS (SELECT {c} AS x FROM messages{m}) SELECT x FROM c",
    "WITH c(x) AS (SELECT {c} FROM messages{m}) SELECT x FROM c",
    "SELECT (SELECT {c} FROM messages{m} ORDER BY id LIMIT 1) AS x",
    "SELECT status FROM orders UNION ALL SELECT {c} FROM messages{m}",
    "SELECT coalesce({c}, '') || '!' AS x FROM messages{m}",
    "SELECT max({c}) AS x FROM messages{m} GROUP BY author",
    "SELECT CASE WHEN id > 0 THEN {c} END AS x FROM messages{m}",
    "SELECT o.id, (SELECT {c} FROM messages{m} WHERE m.id = o.id) AS x FROM orders o",
)
NAMELESS = (
    "SELECT * FROM messages",
    "SELECT m.* FROM messages m",
    "SELECT m FROM messages m",
    "SELECT messages FROM messages",
    "WITH c(a, b, x) AS (SELECT * FROM messages) SELECT x FROM c",
    "WITH c AS (SELECT * FROM messages) SELECT c.* FROM c",
    "SELECT s.* FROM (SELECT id, author, body FROM messages) AS s",
    "SELECT * FROM orders o JOIN messages m ON m.id = o.id",
)
POSTGRES_ONLY = (  # SQLite has no column-alias lists on tables
    "SELECT x FROM messages AS m(id, author, x)",
    "SELECT m.x FROM messages m(a, b, x)",
    "SELECT x FROM messages m(a, b, x) WHERE a = 1",
    "SELECT x FROM (SELECT * FROM messages) AS s(a, b, x)",
    "SELECT row_to_json(m) AS x FROM messages m",
    "SELECT to_jsonb(m) ->> 'body' AS x FROM messages m",
    "SELECT (m).body FROM messages m",
    "SELECT m.to_json AS x FROM messages m",
    "SELECT m.row_to_json AS x FROM messages m",
    "SELECT x FROM messages AS m(id, author, x) WHERE x IS NOT NULL",
)
CLEAN = (
    "SELECT author FROM messages",
    "SELECT count(*) AS n FROM messages",
    "SELECT m.id FROM messages m WHERE m.author = 'ann'",
    "SELECT * FROM orders",
    "SELECT id, author AS body FROM messages",
    "SELECT o.id FROM orders o JOIN messages m ON m.id = o.id",
)


def tainted(dialect: str) -> list[str]:
    """Every spelling that can output `body`."""
    found = [
        shape.format(c=ref, m="" if ref.startswith("messages") else " m")
        for shape, ref in product(SHAPES, COLUMN_REFS)
    ]
    return found + list(NAMELESS) + (list(POSTGRES_ONLY) if dialect == "postgres" else [])
