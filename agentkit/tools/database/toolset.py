"""The model-facing tools over a `Database`: query_db, list_tables, describe_table, execute_db."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agentkit.errors import ConfigError
from agentkit.tool import Tool, ToolOutput
from agentkit.tools.database.facade import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    DEFAULT_MAX_VALUE_BYTES,
    DEFAULT_STATEMENT_TIMEOUT_S,
    Database,
    QueryResult,
)

SqlParam = str | int | float | bool | None
"""A value bound to a placeholder."""

_DIALECT_NAMES = {"postgres": "PostgreSQL", "sqlite": "SQLite", "mysql": "MySQL", "tsql": "T-SQL"}


def database_tools(
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
) -> list[Tool]:
    """Tools for an agent over one database: query_db, list_tables, describe_table, execute_db.

    execute_db is included only when `write_tables` names a table; it is destructive,
    so every call waits for a person's approval.

    ```python
    class Analyst(Agent):
        tools = database_tools("sqlite:///shop.db", tables=["orders", "customers"])
    ```
    """
    db = Database(
        url,
        tables=tables,
        write_tables=write_tables,
        untrusted_columns=untrusted_columns,
        max_rows=max_rows,
        max_bytes=max_bytes,
        statement_timeout_s=statement_timeout_s,
        max_value_bytes=max_value_bytes,
        allowed_functions=allowed_functions,
    )
    return tools_for(db)


Builder = Callable[[Database, frozenset[str]], Callable[..., ToolOutput]]
"""Makes a tool body over a database with further untrusted columns (bare names)."""


class DatabaseTool(Tool):
    """A tool returning database rows: it can take a policy's ``untrusted_columns``.

    The columns are bare names ("note"); a statement that may output one, in any allowed
    table that has it, comes back untrusted (`Database.added_columns`).
    """

    __slots__ = ("_build", "_db", "_options", "untrusted_columns")

    def __init__(
        self,
        build: Builder,
        db: Database,
        *,
        untrusted_columns: frozenset[str] = frozenset(),
        **options: Any,
    ) -> None:
        facts = {"untrusted_columns": sorted(untrusted_columns)} if untrusted_columns else None
        super().__init__(build(db, untrusted_columns), facts=facts, **options)
        self.info = self.info.model_copy(update={"labels_own_output": True})
        self._build = build
        self._db = db
        self._options = options
        self.untrusted_columns = untrusted_columns
        """Bare column names untrusted besides the Database's own, in every table having them."""

    def with_untrusted_columns(self, columns: Iterable[str]) -> Tool:
        """This tool with `columns` untrusted too; `self` when it has them already."""
        if isinstance(columns, str) or any(not str(c).strip() for c in columns):
            raise ConfigError(f"tool {self.name!r}: untrusted_columns must be non-empty names")
        merged = self.untrusted_columns | frozenset(columns)
        if merged == self.untrusted_columns:
            return self
        tool = DatabaseTool(self._build, self._db, untrusted_columns=merged, **self._options)
        return tool.marked_untrusted() if self.always_untrusted else tool


def tools_for(db: Database) -> list[Tool]:
    """The tools over `db`; execute_db only when some table is writable."""
    timeout = db.statement_timeout_s + 10.0
    dialect = _DIALECT_NAMES.get(db.dialect, db.dialect)
    tables = ", ".join(sorted(db.table_names())) or "(none)"
    tools: list[Tool] = [
        DatabaseTool(
            _query_fn,
            db,
            name="query_db",
            description=(
                f"Run one read-only {dialect} SELECT on the tables {tables} and get the rows "
                f"as JSON (at most {db.max_rows} rows). Pass values as params for ? "
                "placeholders; never put them in the SQL text."
            ),
            side_effect="read",
            timeout=timeout,
        ),
        Tool(_list_fn(db), name="list_tables", side_effect="read", timeout=timeout),
        Tool(_describe_fn(db), name="describe_table", side_effect="read", timeout=timeout),
    ]
    if db.writable:
        tools.append(
            DatabaseTool(
                _execute_fn,
                db,
                name="execute_db",
                description=(
                    f"Run one {dialect} INSERT, UPDATE or DELETE on a writable table (see "
                    "list_tables); each call is confirmed by a person. Use ? placeholders."
                ),
                side_effect="destructive",
                timeout=timeout,
            )
        )
    return tools


def _output(result: QueryResult, content: dict[str, Any]) -> ToolOutput:
    return ToolOutput(
        content,
        untrusted=True if result.untrusted else None,
        truncated=result.truncated,
        metadata={"tables": list(result.tables)},
    )


def _query_fn(db: Database, untrusted: frozenset[str]) -> Callable[..., ToolOutput]:
    def query_db(sql: str, params: list[SqlParam]) -> ToolOutput:
        """Run one read-only SQL query.

        Args:
            sql: One SELECT (or WITH ... SELECT) statement, with ? placeholders for values.
            params: The values for the ? placeholders, in order ([] when there are none).
        """
        result = db.query(sql, params, untrusted_columns=untrusted)
        return _output(result, result.as_dict())

    return query_db


def _execute_fn(db: Database, untrusted: frozenset[str]) -> Callable[..., ToolOutput]:
    def execute_db(sql: str, params: list[SqlParam]) -> ToolOutput:
        """Run one INSERT, UPDATE or DELETE on a writable table and commit it.

        Args:
            sql: One INSERT, UPDATE or DELETE statement, with ? placeholders for values.
            params: The values for the ? placeholders, in order ([] when there are none).
        """
        result = db.execute(sql, params, untrusted_columns=untrusted)
        if result.returned is None:
            return ToolOutput(result.as_dict())
        return _output(result.returned, result.as_dict())

    return execute_db


def _list_fn(db: Database) -> Any:
    def list_tables() -> list[dict[str, Any]]:
        """List the tables you may query, with the operations allowed on each."""
        return db.list_tables()

    return list_tables


def _describe_fn(db: Database) -> Any:
    def describe_table(table: str) -> dict[str, Any]:
        """Describe one table's columns (name, type, nullable, untrusted).

        Args:
            table: The table's name as list_tables shows it.
        """
        return db.describe_table(table)

    return describe_table
