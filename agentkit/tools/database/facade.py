"""`Database`: one database behind the SQL guard, on connections it holds read-only."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentkit.errors import ConfigError, DatabaseError, QueryRefused
from agentkit.tools.database.bounded import (
    Kind,
    bounded_sql,
    cell_cap,
    column_names,
    describe_sql,
    pg_kind,
    restore,
)
from agentkit.tools.database.engine import (
    DIALECTS,
    create_engine,
    database_error,
    first_line,
    json_row,
    parse_url,
    sqlite_deadline,
)
from agentkit.tools.database.guard import NO_ADDED_COLUMNS, AddedColumns, SqlGuard
from agentkit.tools.database.statement import CheckedStatement, TableKey

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, CursorResult, Engine

__all__ = ["Database", "ExecuteResult", "QueryResult"]

DEFAULT_MAX_ROWS = 100
DEFAULT_MAX_BYTES = 64_000
DEFAULT_STATEMENT_TIMEOUT_S = 5.0
DEFAULT_MAX_VALUE_BYTES = 256_000


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of a query, as JSON-safe values, with the flags a tool output needs."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool = False
    """Rows or cell text were left out to stay within the row and byte caps."""
    untrusted: bool = False
    """The query may output a column declared untrusted."""
    tables: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """The result as sent to the model."""
        return {
            "columns": list(self.columns),
            "rows": [list(row) for row in self.rows],
            "row_count": len(self.rows),
            "truncated": self.truncated,
        }


@dataclass(frozen=True, slots=True)
class ExecuteResult:
    """What a write statement did."""

    operation: str
    table: str
    rowcount: int
    returned: QueryResult | None = None
    """Rows of a RETURNING clause, if the statement had one."""

    def as_dict(self) -> dict[str, Any]:
        """The result as sent to the model."""
        out: dict[str, Any] = {
            "operation": self.operation,
            "table": self.table,
            "rowcount": self.rowcount,
        }
        if self.returned is not None:
            out["returned"] = self.returned.as_dict()
        return out


class Database:
    """One database reached through SQLAlchemy, with the guard and limits of the tools.

    Args:
        url: A SQLAlchemy URL. ``postgresql://`` uses psycopg 3; SQLite must be a file.
        tables: Tables that may be read ("name" or "schema.name").
        write_tables: Table -> operations ("insert", "update", "delete") writes may do.
        untrusted_columns: Table -> columns holding text from outside (labelled untrusted).
        max_rows: Rows returned at most; more are cut and flagged as truncated.
        max_bytes: Bytes of JSON returned at most, likewise.
        statement_timeout_s: Seconds a statement may run before the database cancels it.
        max_value_bytes: SQLite: the largest string or blob a read may build or read.
        allowed_functions: Replaces the default allow list of functions (see rules.py).
        allow_unfiltered_writes: Accept UPDATE and DELETE without WHERE.
    """

    def __init__(
        self,
        url: str,
        *,
        tables: Iterable[str],
        write_tables: Mapping[str, Iterable[str]] | None = None,
        untrusted_columns: Mapping[str, Iterable[str]] | None = None,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        statement_timeout_s: float = DEFAULT_STATEMENT_TIMEOUT_S,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        allowed_functions: Iterable[str] | None = None,
        allow_unfiltered_writes: bool = False,
    ) -> None:
        if max_rows < 1 or max_bytes < 64 or statement_timeout_s <= 0:
            raise ConfigError("max_rows >= 1, max_bytes >= 64 and statement_timeout_s > 0")
        self._url = parse_url(url)
        self.backend = self._url.get_backend_name()
        if self.backend not in DIALECTS:
            raise ConfigError(f"unsupported database backend {self.backend!r}")
        self.dialect = DIALECTS[self.backend]
        names = list(_names(tables)) + list(write_tables or {})
        self.guard = SqlGuard(
            self.dialect,
            tables=names,
            write_tables=write_tables,
            untrusted_columns=untrusted_columns,
            allowed_functions=allowed_functions,
            allow_unfiltered_writes=allow_unfiltered_writes,
        )
        self._display = {self.guard.table_key(name): name for name in names}
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.statement_timeout_s = statement_timeout_s
        self.max_value_bytes = max(max_value_bytes, max_bytes)
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()
        self._columns: dict[TableKey, frozenset[str] | None] | None = None
        self._columns_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Database({self._url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.dispose()

    def table_names(self) -> list[str]:
        """The configured table names, as given."""
        return list(self._display.values())

    @property
    def writable(self) -> bool:
        """Whether any table is configured for writes."""
        return any(self.guard.write_ops(key) for key in self._display)

    # --- statements ----------------------------------------------------------------------

    def query(
        self,
        sql: str,
        params: Mapping[str, Any] | Sequence[Any] | None = None,
        *,
        untrusted_columns: Iterable[str] = (),
    ) -> QueryResult:
        """Run one read-only query; ``?`` placeholders take a list, ``:name`` a mapping.

        Args:
            untrusted_columns: Bare column names also untrusted for this query (a policy's),
                in every allowed table that has such a column (see `added_columns`).

        Raises:
            QueryRefused: the guard or the database refused the statement.
            QueryTimeout: it ran past the statement timeout.
            DatabaseError: the database reported another error.
        """
        checked = self.guard.check_query(sql, self.added_columns(untrusted_columns))
        bound = checked.bind(params)
        with self._connect("read") as conn, self._guarded(conn, "read"):
            columns, kinds = self._describe(conn, checked.sql, bound)
            cap = cell_cap(self.max_bytes, len(kinds))
            limited = bounded_sql(checked.sql, kinds, cap, self.max_rows + 1, self.backend)
            result = conn.execution_options(stream_results=True).execute(text(limited), bound)
            _, rows, truncated = self._collect(result, kinds, cap)
            result.close()
        return self._result(checked, columns, rows, truncated)

    def _describe(
        self, conn: Connection, sql: str, bound: Mapping[str, Any]
    ) -> tuple[tuple[str, ...], list[Kind]]:
        """The query's column names and how each is cut, from a run that returns no rows."""
        result = conn.execute(text(describe_sql(sql)), bound)
        names = column_names(list(map(str, result.keys())), self.backend)
        description: Sequence[Any] = result.cursor.description or ()
        result.close()
        if self.backend != "postgresql":
            return names, ["text"] * len(names)
        types = [int(column[1]) for column in description]
        found = conn.execute(
            text("SELECT oid, typname, typcategory FROM pg_catalog.pg_type WHERE oid = ANY(:o)"),
            {"o": sorted(set(types))},
        ).all()
        info = {row[0]: (str(row[1]), str(row[2])) for row in found}
        return names, [pg_kind(*info.get(oid, ("", ""))) for oid in types]

    def execute(
        self,
        sql: str,
        params: Mapping[str, Any] | Sequence[Any] | None = None,
        *,
        untrusted_columns: Iterable[str] = (),
    ) -> ExecuteResult:
        """Run one INSERT, UPDATE or DELETE allowed by `write_tables`, and commit it.

        Args:
            untrusted_columns: Bare column names also untrusted in the rows a RETURNING
                clause gives back, as for `query`.

        Raises:
            QueryRefused: the statement is not a write allowed by the configuration.
            QueryTimeout: it ran past the statement timeout (nothing is committed).
            DatabaseError: the database reported another error (nothing is committed).
        """
        checked = self.guard.check_write(sql, self.added_columns(untrusted_columns))
        bound = checked.bind(params)
        returned = None
        with self._connect("write") as conn, self._guarded(conn, "write"):
            result = conn.execute(text(checked.sql), bound)
            if result.returns_rows:
                kinds: list[Kind] = ["text"] * len(result.keys())
                columns, rows, truncated = self._collect(
                    result, kinds, cell_cap(self.max_bytes, len(kinds))
                )
                returned = self._result(checked, columns, rows, truncated)
            rowcount = max(result.rowcount, -1)
        target = checked.target or ("", "?")
        return ExecuteResult(checked.kind, self._name(target), rowcount, returned)

    # --- untrusted columns by bare name ---------------------------------------------------

    def added_columns(self, names: Iterable[str]) -> AddedColumns:
        """Bare column names (a policy's) as the guard applies them to one statement.

        A statement naming one of them is untrusted whatever it reads. A star or whole-row
        value is untrusted when it reads a table that has one: found by reading the allowed
        tables' columns once, at the first statement that needs it. A table missing then
        counts as having every such column, so a table created later is never trusted by
        mistake.
        """
        if isinstance(names, str):
            raise ConfigError(f"untrusted_columns: expected a list of names, got {names!r}")
        wanted = frozenset(names)
        if not wanted:
            return NO_ADDED_COLUMNS
        if any(not name.strip() for name in wanted):
            raise ConfigError("untrusted_columns: a column name must not be empty")
        tables: dict[TableKey, frozenset[str]] = {}
        for key, known in self._table_columns().items():
            have = [n for n in wanted if known is None or n.casefold() in known]
            if have:
                tables[key] = frozenset(self.guard.column_name(n) for n in have)
        return AddedColumns(frozenset(n.casefold() for n in wanted), tables)

    def _table_columns(self) -> dict[TableKey, frozenset[str] | None]:
        """Every allowed table's column names, case-folded; None for a table not found."""
        with self._columns_lock:
            if self._columns is None:
                self._columns = self._read_columns()
            return self._columns

    def _read_columns(self) -> dict[TableKey, frozenset[str] | None]:
        from sqlalchemy import inspect

        found: dict[TableKey, frozenset[str] | None] = {}
        with self._connect("read") as conn:
            inspector = inspect(conn)
            for key in sorted(self.guard.readable):
                schema = key[0] or None
                if not inspector.has_table(key[1], schema=schema):
                    found[key] = None
                    continue
                columns = inspector.get_columns(key[1], schema=schema)
                found[key] = frozenset(str(col["name"]).casefold() for col in columns)
        return found

    # --- introspection -------------------------------------------------------------------

    def list_tables(self) -> list[dict[str, Any]]:
        """The configured tables that exist, with their write operations and untrusted columns."""
        from sqlalchemy import inspect

        with self._connect("read") as conn:
            inspector = inspect(conn)
            out = []
            for key, name in sorted(self._display.items(), key=lambda item: item[1]):
                if not inspector.has_table(key[1], schema=key[0] or None):
                    continue
                out.append(
                    {
                        "table": name,
                        "writable": sorted(self.guard.write_ops(key)),
                        "untrusted_columns": sorted(self.guard.untrusted_columns(key)),
                    }
                )
            return out

    def database_tables(self) -> list[str]:
        """Every table of the default schema, allowed or not (for trusted callers: the CLI)."""
        from sqlalchemy import inspect

        with self._connect("read") as conn:
            return list(inspect(conn).get_table_names())

    def describe_table(self, table: str) -> dict[str, Any]:
        """Columns of one configured table (name, type, nullable, untrusted)."""
        from sqlalchemy import inspect
        from sqlalchemy.exc import NoSuchTableError

        key = self._allowed_key(table)
        untrusted = self.guard.untrusted_columns(key)
        with self._connect("read") as conn:
            try:
                columns = inspect(conn).get_columns(key[1], schema=key[0] or None)
            except NoSuchTableError as exc:
                raise DatabaseError(f"table {table!r} does not exist") from exc
        return {
            "table": self._name(key),
            "writable": sorted(self.guard.write_ops(key)),
            "columns": [
                {
                    "name": col["name"],
                    "type": str(col["type"]),
                    "nullable": bool(col.get("nullable", True)),
                    "untrusted": col["name"].lower() in untrusted or col["name"] in untrusted,
                }
                for col in columns
            ],
        }

    def _allowed_key(self, table: str) -> TableKey:
        try:
            key = self.guard.table_key(table)
        except ConfigError as exc:
            raise QueryRefused(f"invalid table name {table!r}") from exc
        if key not in self._display:
            raise QueryRefused(f"table {table!r} is not allowed")
        return key

    # --- connections ---------------------------------------------------------------------

    def _engine(self, mode: str) -> Engine:
        with self._lock:
            if mode not in self._engines:
                self._engines[mode] = create_engine(
                    self._url, read_only=mode == "read", max_value_bytes=self.max_value_bytes
                )
            return self._engines[mode]

    @contextmanager
    def _connect(self, mode: str) -> Iterator[Connection]:
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError

        try:
            with self._engine(mode).connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise database_error(exc, self.statement_timeout_s) from exc
        except SQLAlchemyError as exc:
            raise DatabaseError(f"database error: {first_line(exc)}") from exc

    @contextmanager
    def _guarded(self, conn: Connection, mode: str) -> Iterator[None]:
        """A transaction held read-only (for reads) and bounded in time; reads never commit."""
        transaction = conn.begin()
        try:
            if self.backend == "postgresql":
                if mode == "read":
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                timeout_ms = max(1, int(self.statement_timeout_s * 1000))
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {timeout_ms}")
            with sqlite_deadline(conn, self.statement_timeout_s, self.backend):
                yield
        except BaseException:
            transaction.rollback()
            raise
        if mode == "write":
            transaction.commit()
        else:
            transaction.rollback()

    def _collect(
        self, result: CursorResult[Any], kinds: Sequence[Kind], cap: int
    ) -> tuple[tuple[str, ...], list[Any], bool]:
        """Rows one at a time until a cap is reached, so at most one row is held unchecked."""
        columns = tuple(map(str, result.keys()))
        rows: list[tuple[Any, ...]] = []
        size = 2
        truncated = False
        while batch := result.fetchmany(1):
            if len(rows) == self.max_rows:
                truncated = True
                break
            restored = [restore(v, k, cap) for v, k in zip(batch[0], kinds, strict=True)]
            row, cut = json_row([value for value, _ in restored], cap)
            cut = cut or any(was_cut for _, was_cut in restored)
            row_bytes = len(json.dumps(row, ensure_ascii=False).encode()) + 1
            if size + row_bytes > self.max_bytes:
                truncated = True
                break
            rows.append(row)
            size += row_bytes
            truncated = truncated or cut
        return columns, rows, truncated

    def _result(
        self, checked: CheckedStatement, columns: tuple[str, ...], rows: list[Any], cut: bool
    ) -> QueryResult:
        tables = tuple(sorted(self._name(key) for key in checked.tables))
        return QueryResult(columns, tuple(rows), cut, checked.untrusted, tables)

    def _name(self, key: TableKey) -> str:
        return (
            self._display.get(key) or self._display.get(("", key[1])) or ".".join(filter(None, key))
        )


def text(sql: str) -> Any:
    """A SQLAlchemy text clause (imported late: importing agentkit stays light)."""
    from sqlalchemy import text as sql_text

    return sql_text(sql)


def _names(tables: Iterable[str]) -> Iterable[str]:
    if isinstance(tables, str):
        raise ConfigError(f"tables: expected a list of names, got the string {tables!r}")
    return tables
