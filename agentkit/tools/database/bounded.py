"""Queries wrapped so the database cuts rows and long values before they reach this process.

A checked query runs as ``WITH q(c0, c1, ...) AS (<query>) SELECT <cut c0>, ... FROM q
LIMIT n``: at most n rows, and every variable-length value cut on the server to a few
characters more than the result can hold. The driver therefore never materialises more
than n such rows, whatever the query computes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

Kind = Literal["native", "text", "bytes", "json", "jsonify"]
"""How a column is cut: not at all (fixed size), as text, as bytes, or as JSON text."""

WRAP = "_agentkit_q"
_PG_NATIVE = frozenset(
    {"int2", "int4", "int8", "float4", "float8", "bool", "date", "time", "timetz",
     "timestamp", "timestamptz", "interval", "uuid", "oid"}
)  # fmt: skip
_SQLITE_DUPLICATE = re.compile(r"^(.*):\d+$")


def describe_sql(inner: str) -> str:
    """The query with no rows: its columns, without computing a value."""
    return f"WITH {WRAP} AS ({inner}) SELECT * FROM {WRAP} LIMIT 0"


def bounded_sql(inner: str, kinds: Sequence[Kind], cap: int, rows: int, backend: str) -> str:
    """The query cut to `rows` rows and values to `cap` + 1 characters (or bytes)."""
    names = ", ".join(f"c{i}" for i in range(len(kinds)))
    cut = ", ".join(_cut(f"c{i}", kind, cap + 1, backend) for i, kind in enumerate(kinds))
    return f"WITH {WRAP}({names}) AS ({inner}) SELECT {cut} FROM {WRAP} LIMIT {rows}"


def _cut(column: str, kind: Kind, keep: int, backend: str) -> str:
    if backend == "sqlite":
        return (
            f"CASE WHEN typeof({column}) IN ('text', 'blob') "
            f"THEN substr({column}, 1, {keep}) ELSE {column} END"
        )
    if kind == "native":
        return column
    if kind == "bytes":
        return f"substring({column} FROM 1 FOR {keep})"
    if kind == "jsonify":
        return f"left(CAST(to_jsonb({column}) AS text), {keep})"
    return f"left(CAST({column} AS text), {keep})"


def pg_kind(typname: str, category: str) -> Kind:
    """How a PostgreSQL column of this type is cut."""
    if typname in _PG_NATIVE:
        return "native"
    if typname == "bytea":
        return "bytes"
    if typname in ("json", "jsonb"):
        return "json"
    if category in ("A", "C"):  # arrays and composites keep their structure as JSON
        return "jsonify"
    return "text"


def restore(value: Any, kind: Kind, cap: int) -> tuple[Any, bool]:
    """A cut cell back as a value: JSON text parsed when whole; True if it was cut."""
    if kind in ("json", "jsonify") and isinstance(value, str):
        if len(value) > cap:
            return value[:cap], True
        return json.loads(value), False
    return value, False


def column_names(names: Sequence[str], backend: str) -> tuple[str, ...]:
    """Result column names; SQLite renames duplicates in a CTE ("id:1"), undone here."""
    if backend != "sqlite":
        return tuple(names)
    out: list[str] = []
    for name in names:
        match = _SQLITE_DUPLICATE.match(name)
        out.append(match.group(1) if match and match.group(1) in out else name)
    return tuple(out)


def cell_cap(max_bytes: int, columns: int) -> int:
    """Characters kept per cell: an eighth of the byte cap, less for wide rows, at least 16."""
    return max(16, min(max(256, max_bytes // 8), max_bytes // max(1, columns)))
