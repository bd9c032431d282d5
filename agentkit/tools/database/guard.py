"""The SQL guard: which statements the database tools may run, decided on the parsed tree.

A statement is parsed with sqlglot in the database's dialect. Only what the guard
understands passes: one statement, of an accepted kind, touching only configured
tables, calling only allowed functions. What then runs on the database is the SQL
regenerated from the checked tree (comments dropped, placeholders renamed), so a
difference between how sqlglot and the server read the original text cannot smuggle
anything past the check.

```python
guard = SqlGuard("postgres", tables=["orders"])
checked = guard.check_query("SELECT id FROM orders WHERE id = ?")
checked.sql      # 'SELECT id FROM orders WHERE id = :p0'
```
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, SqlglotError

from agentkit.errors import ConfigError, QueryRefused
from agentkit.tools.database.rules import (
    ALLOWED_OBJECT_IDENTIFIERS,
    ALLOWED_TYPES,
    DENIED_STATEMENT_NODES,
    MAX_SQL_CHARS,
    default_functions,
)
from agentkit.tools.database.statement import (
    CheckedStatement,
    TableKey,
    escape_colons,
    rename_placeholders,
)

WriteOp = Literal["insert", "update", "delete"]
WRITE_OPS: tuple[WriteOp, ...] = ("insert", "update", "delete")

_DENIED_NODE_TYPES: tuple[type[exp.Expr], ...] = tuple(
    t for t in (getattr(exp, name, None) for name in DENIED_STATEMENT_NODES) if isinstance(t, type)
)
_READ_ROOTS: tuple[type[exp.Expr], ...] = (exp.Select, exp.SetOperation, exp.Subquery)
_WRITE_ROOTS: dict[type[exp.Expr], WriteOp] = {
    exp.Insert: "insert",
    exp.Update: "update",
    exp.Delete: "delete",
}
_DEFAULT_SCHEMA = {"postgres": "public", "sqlite": "main", "duckdb": "main"}
_CALL = re.compile(r'\s*("?)([A-Za-z_][A-Za-z0-9_$]*)\1\s*\(')
_NAME = re.compile(r'"[^"]+"|[A-Za-z_][A-Za-z0-9_$]*')
_KEYWORD = re.compile(r"[A-Za-z_]+")


@dataclass(frozen=True, slots=True)
class AddedColumns:
    """Untrusted columns added for one statement by bare name (a policy's), not by table.

    A statement naming one of `names` anywhere is untrusted, whatever table it reads;
    `tables` says which tables have the columns, for what a star or a whole-row value
    carries (`Database` finds them by introspection).
    """

    names: frozenset[str] = frozenset()
    """The bare names, case-folded: matched case-insensitively, so no spelling escapes."""
    tables: Mapping[TableKey, frozenset[str]] = field(default_factory=dict)
    """Per table, the added columns it has, as the guard normalises names."""


NO_ADDED_COLUMNS = AddedColumns()


class SqlGuard:
    """Decides whether a statement may run, for one dialect and one configuration.

    Args:
        dialect: sqlglot dialect name ("postgres", "sqlite", ...).
        tables: Tables that may be read, as "name" or "schema.name".
        write_tables: Table -> operations the write tool may perform on it.
        untrusted_columns: Table -> columns whose text comes from outside.
        allowed_functions: Replaces the dialect's default allow list (rules.ALLOWED_FUNCTIONS).
        allow_unfiltered_writes: Accept UPDATE and DELETE without a WHERE clause.
    """

    def __init__(
        self,
        dialect: str,
        *,
        tables: Iterable[str],
        write_tables: Mapping[str, Iterable[str]] | None = None,
        untrusted_columns: Mapping[str, Iterable[str]] | None = None,
        allowed_functions: Iterable[str] | None = None,
        allow_unfiltered_writes: bool = False,
        max_sql_chars: int = MAX_SQL_CHARS,
    ) -> None:
        try:
            self._dialect = Dialect.get_or_raise(dialect)
        except ValueError as exc:
            raise ConfigError(f"unknown SQL dialect {dialect!r}") from exc
        self.dialect = dialect
        self._default_schema = _DEFAULT_SCHEMA.get(dialect, "")
        self._tables = {self._config_key(name) for name in _names(tables, "tables")}
        self._writes = self._write_config(write_tables or {})
        self._untrusted = {
            self._config_key(table): {self._norm_name(c) for c in _names(cols, table)}
            for table, cols in (untrusted_columns or {}).items()
        }
        chosen = default_functions(dialect) if allowed_functions is None else allowed_functions
        self.allowed_functions = frozenset(_names(chosen, "allowed_functions"))
        self._allow_unfiltered = allow_unfiltered_writes
        self._max_chars = max_sql_chars

    @property
    def readable(self) -> frozenset[TableKey]:
        """Configured readable tables (write tables are readable too)."""
        return frozenset(self._tables | set(self._writes))

    def write_ops(self, key: TableKey) -> frozenset[WriteOp]:
        """Operations allowed on a table by the write tool."""
        return self._writes.get(key, frozenset())

    def untrusted_columns(self, key: TableKey) -> frozenset[str]:
        """Columns of a configured table declared untrusted."""
        return frozenset(self._untrusted.get(key, set()))

    def table_key(self, name: str) -> TableKey:
        """The normalised key of a table name as a user or the model writes it."""
        return self._config_key(name)

    def column_name(self, name: str) -> str:
        """A column name as configured ("note"), normalised as the guard compares names."""
        return self._norm_name(name)

    # --- the two checks ------------------------------------------------------------------

    def check_query(self, sql: str, added: AddedColumns = NO_ADDED_COLUMNS) -> CheckedStatement:
        """Accept one read-only query or raise QueryRefused saying why.

        `added` columns count as untrusted for this statement, besides the configured ones.
        """
        tree = self._parse(sql)
        if not isinstance(tree, _READ_ROOTS):
            raise QueryRefused(f"only SELECT queries are allowed here, not {_kind(tree)}")
        self._refuse_denied_nodes(tree, sql, allowed=None)
        tables = self._check_tables(tree, self.readable, target=None)
        return self._finish(tree, "select", tables, target=None, added=added)

    def check_write(self, sql: str, added: AddedColumns = NO_ADDED_COLUMNS) -> CheckedStatement:
        """Accept one INSERT, UPDATE or DELETE on a configured write table, or refuse it."""
        tree = self._parse(sql)
        op = _WRITE_ROOTS.get(type(tree))
        if op is None:
            raise QueryRefused(f"only INSERT, UPDATE or DELETE are allowed here, not {_kind(tree)}")
        self._refuse_denied_nodes(tree, sql, allowed=tree)
        target_node = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        if not isinstance(target_node, exp.Table) or not isinstance(
            target_node.this, exp.Identifier
        ):
            raise QueryRefused("the statement's target table cannot be determined")
        target = self._reference_key(target_node)
        allowed = self._write_target(target, target_node)
        for needed in _needed_ops(tree, op):
            if needed not in allowed:
                raise QueryRefused(f"{needed.upper()} on table {target_node.name!r} is not allowed")
        if op != "insert" and not tree.args.get("where") and not self._allow_unfiltered:
            raise QueryRefused(f"{op.upper()} without a WHERE clause is not allowed")
        tables = self._check_tables(tree, self.readable, target=target_node)
        return self._finish(tree, op, tables | {target}, target=target, added=added)

    # --- parsing -------------------------------------------------------------------------

    def _parse(self, sql: str) -> exp.Expr:
        if len(sql) > self._max_chars:
            raise QueryRefused(f"the statement is longer than {self._max_chars} characters")
        try:
            trees = [t for t in self._dialect.parse(sql, error_level=ErrorLevel.RAISE) if t]
        except (SqlglotError, RecursionError) as exc:
            raise QueryRefused(f"the statement could not be parsed ({_first_line(exc)})") from exc
        if len(trees) != 1:
            raise QueryRefused(f"exactly one statement is allowed, got {len(trees)}")
        return trees[0]

    def _refuse_denied_nodes(
        self, tree: exp.Expr, source: str, *, allowed: exp.Expr | None
    ) -> None:
        for node in tree.walk():
            if node is allowed:
                continue
            if isinstance(node, _DENIED_NODE_TYPES):
                raise QueryRefused(f"{_kind(node)} is not allowed in this statement")
            if isinstance(node, exp.Select) and node.args.get("locks"):
                raise QueryRefused("locking clauses (FOR UPDATE/SHARE) are not allowed")
            if isinstance(node, exp.Func):
                self._refuse_function(node, source)
            if isinstance(node, exp.DataType | exp.ObjectIdentifier):
                _refuse_type(node)
            if isinstance(node, exp.Parameter) or _parameter_like(node):
                raise QueryRefused("use ? or :name placeholders for parameters")

    def _refuse_function(self, node: exp.Func, source: str) -> None:
        parent = node.parent
        if (isinstance(parent, exp.Dot) and node is parent.expression) or (
            isinstance(parent, exp.Table) and node is parent.this and parent.args.get("db")
        ):
            raise QueryRefused(f"call functions without a schema: {node.sql(self._dialect)!r}")
        name = self._function_name(node, source)
        if name is not None and name not in self.allowed_functions:
            raise QueryRefused(
                f"the function {name}() is not allowed: only pure functions are (aggregates, "
                "math, string, date/time, JSON, casts, conditionals)"
            )

    def _function_name(self, node: exp.Func, source: str) -> str | None:
        """The name a call is written with, or None for syntax (CASE, operators)."""
        if isinstance(node, exp.Anonymous):
            this = node.this
            ident = this if isinstance(this, exp.Identifier) else exp.Identifier(this=str(this))
            return self._norm(ident)
        start, end = node.meta.get("start"), node.meta.get("end")
        if isinstance(start, int) and isinstance(end, int):
            written = source[start : end + 1]
            if _NAME.fullmatch(written):
                quoted = written.startswith('"')
                return self._norm(exp.Identifier(this=written.strip('"'), quoted=quoted))
        emitted = node.sql(dialect=self._dialect)
        call = _CALL.match(emitted)
        if call:
            return self._norm(exp.Identifier(this=call.group(2), quoted=bool(call.group(1))))
        if _KEYWORD.fullmatch(emitted) and emitted.upper() in type(node).sql_names():
            return emitted.lower()  # CURRENT_USER and other keywords sqlglot models as calls
        return None

    def _refuse_unparsed_calls(self, tree: exp.Expr) -> None:
        """Check the functions of the SQL that will run, as the guard reads it back."""
        try:
            sql = tree.sql(
                dialect=self._dialect, comments=False, unsupported_level=ErrorLevel.RAISE
            )
            again = [t for t in self._dialect.parse(sql, error_level=ErrorLevel.RAISE) if t]
        except (SqlglotError, RecursionError) as exc:
            raise QueryRefused(f"the statement cannot be reproduced safely ({exc})") from exc
        for root in again:
            for node in root.walk():
                if isinstance(node, exp.Func):
                    self._refuse_function(node, sql)

    # --- tables --------------------------------------------------------------------------

    def _check_tables(
        self, tree: exp.Expr, allowed: frozenset[TableKey], *, target: exp.Table | None
    ) -> frozenset[TableKey]:
        found: set[TableKey] = set()
        for table in tree.find_all(exp.Table):
            if table is target:
                continue
            if not isinstance(table.this, exp.Identifier):
                if isinstance(table.this, exp.Func):
                    continue  # a table function, already checked as a function
                raise QueryRefused("a table reference the guard cannot read")
            if _cte_in_scope(table, self._norm(table.this), self._norm):
                continue
            key = self._reference_key(table)
            if key not in allowed and self._unqualified(key) not in allowed:
                raise QueryRefused(f"table {table.sql(self._dialect)!r} is not allowed")
            found.add(key)
        return frozenset(found)

    def _reference_key(self, table: exp.Table) -> TableKey:
        if table.args.get("catalog"):
            raise QueryRefused("database-qualified table names are not allowed")
        schema = table.args.get("db")
        db = self._norm(schema) if isinstance(schema, exp.Identifier) else ""
        return (db, self._norm(table.this))

    def _unqualified(self, key: TableKey) -> TableKey:
        """`public.t` may be read where `t` is configured (and only for the default schema)."""
        return ("", key[1]) if key[0] and key[0] == self._default_schema else key

    def _config_key(self, name: str) -> TableKey:
        try:
            table = exp.to_table(name, dialect=self.dialect)
        except SqlglotError as exc:
            raise ConfigError(f"invalid table name {name!r}") from exc
        if table.args.get("catalog") or not isinstance(table.this, exp.Identifier):
            raise ConfigError(f"table name {name!r}: use 'table' or 'schema.table'")
        schema = table.args.get("db")
        key = (
            self._norm(schema) if isinstance(schema, exp.Identifier) else "",
            self._norm(table.this),
        )
        return ("", key[1]) if key[0] == self._default_schema else key

    def _write_config(
        self, config: Mapping[str, Iterable[str]]
    ) -> dict[TableKey, frozenset[WriteOp]]:
        writes: dict[TableKey, frozenset[WriteOp]] = {}
        for table, ops in config.items():
            chosen = {str(op).lower() for op in _names(ops, table)}
            unknown = chosen - set(WRITE_OPS)
            if unknown:
                raise ConfigError(f"write_tables[{table!r}]: unknown operations {sorted(unknown)}")
            writes[self._config_key(table)] = frozenset(op for op in WRITE_OPS if op in chosen)
        return writes

    def _write_target(self, key: TableKey, node: exp.Table) -> frozenset[WriteOp]:
        ops = self._writes.get(key) or self._writes.get(self._unqualified(key))
        if not ops:
            raise QueryRefused(f"table {node.name!r} is not writable")
        return ops

    def _norm(self, identifier: exp.Identifier) -> str:
        return str(self._dialect.normalize_identifier(identifier.copy()).name)

    def _norm_name(self, name: str) -> str:
        return self._norm(exp.to_identifier(name))

    # --- result --------------------------------------------------------------------------

    def _finish(
        self,
        tree: exp.Expr,
        kind: Literal["select", "insert", "update", "delete"],
        tables: frozenset[TableKey],
        *,
        target: TableKey | None,
        added: AddedColumns,
    ) -> CheckedStatement:
        self._refuse_unparsed_calls(tree)
        untrusted = _names_any(tree, added.names) or self._touches_untrusted(tree, tables, added)
        binds, positional = rename_placeholders(tree)
        escape_colons(tree)
        try:
            sql = tree.sql(
                dialect=self._dialect, comments=False, unsupported_level=ErrorLevel.RAISE
            )
        except SqlglotError as exc:
            raise QueryRefused(f"the statement cannot be reproduced safely ({exc})") from exc
        return CheckedStatement(sql, kind, tables, target, untrusted, binds, positional)

    def _touches_untrusted(
        self, tree: exp.Expr, tables: frozenset[TableKey], added: AddedColumns
    ) -> bool:
        """Whether the statement may output an untrusted column, judged conservatively.

        A table with untrusted columns taints the result when any of them is named anywhere
        (select list, WHERE, a CTE, a function argument), when a star, a whole-row value or
        attribute notation could carry it, or when a column-alias list renames its columns.
        """
        untrusted = {k: cols for k in tables if (cols := self._untrusted_for(k, added))}
        if not untrusted:
            return False
        tainted = set(untrusted)
        columns = set().union(*untrusted.values())
        row_names = {name for _, name in tainted}
        for table in tree.find_all(exp.Table):
            alias = table.args.get("alias")
            if self._reference_key_safe(table) not in tainted or not isinstance(
                alias, exp.TableAlias
            ):
                continue
            if alias.columns:
                return True  # m(id, author, x): renamed by position, x may be the column
            if isinstance(alias.this, exp.Identifier):
                row_names.add(self._norm(alias.this))
        return any(self._carries(node, columns, row_names) for node in tree.walk())

    def _carries(self, node: exp.Expr, columns: set[str], row_names: set[str]) -> bool:
        if isinstance(node, exp.Star):
            return not isinstance(node.parent, exp.Count)
        if not isinstance(node, exp.Column) or not isinstance(node.this, exp.Identifier):
            return False
        name = self._norm(node.this)
        if name in columns or name in row_names:  # the column, or a whole-row value
            return True
        # PostgreSQL reads m.f as f(m) when m has no column f: a function of the whole row
        return bool(node.table) and name in self.allowed_functions

    def _untrusted_for(self, key: TableKey, added: AddedColumns) -> set[str]:
        plain = self._unqualified(key)
        declared = self._untrusted.get(key) or self._untrusted.get(plain) or set()
        return declared | (added.tables.get(key) or added.tables.get(plain) or set())

    def _reference_key_safe(self, table: exp.Table) -> TableKey | None:
        if not isinstance(table.this, exp.Identifier) or table.args.get("catalog"):
            return None
        return self._reference_key(table)


def _names_any(tree: exp.Expr, names: frozenset[str]) -> bool:
    """Whether a column reference anywhere in the statement has one of `names` (case-folded)."""
    if not names:
        return False
    return any(
        isinstance(node, exp.Column)
        and isinstance(node.this, exp.Identifier)
        and node.this.name.casefold() in names
        for node in tree.walk()
    )


def _cte_in_scope(table: exp.Table, name: str, norm: Callable[[exp.Identifier], str]) -> bool:
    """Whether an unqualified table name refers to a CTE visible where it stands.

    Strict about visibility: in a non-recursive WITH a CTE sees only the CTEs before it,
    so a later CTE cannot shadow a real table that an earlier one reads.
    """
    if table.args.get("db") or table.args.get("catalog"):
        return False
    node: exp.Expr = table
    while node.parent is not None:
        parent = node.parent
        if isinstance(parent, exp.With) and isinstance(node, exp.CTE):
            index = next(i for i, cte in enumerate(parent.expressions) if cte is node)
            visible = (
                parent.expressions if parent.args.get("recursive") else parent.expressions[:index]
            )
            if name in _cte_names(visible, norm):
                return True
        else:
            with_ = parent.args.get("with_") or parent.args.get("with")
            if (
                isinstance(with_, exp.With)
                and node is not with_
                and name in _cte_names(with_.expressions, norm)
            ):
                return True
        node = parent
    return False


def _cte_names(ctes: Iterable[exp.Expr], norm: Callable[[exp.Identifier], str]) -> set[str]:
    names: set[str] = set()
    for cte in ctes:
        alias = cte.args.get("alias")
        ident = alias.this if isinstance(alias, exp.TableAlias) else None
        if isinstance(ident, exp.Identifier):
            names.add(norm(ident))
    return names


def _refuse_type(node: exp.DataType | exp.ObjectIdentifier) -> None:
    """Refuse naming any type but a built-in scalar (a table's row type shows its columns)."""
    if isinstance(node, exp.ObjectIdentifier):
        if node.name.lower() not in ALLOWED_OBJECT_IDENTIFIERS:
            raise QueryRefused(
                f"the type {node.sql().lower()} is not allowed (it looks names up in the catalog)"
            )
        return
    if node.this.name not in ALLOWED_TYPES:
        raise QueryRefused(
            f"the type {node.sql()} is not allowed: only built-in scalar types may be named"
        )


def _parameter_like(node: exp.Expr) -> bool:
    """An unquoted name the database would read as a parameter ($1, @a in SQLite)."""
    return isinstance(node, exp.Identifier) and not node.quoted and node.name[:1] in ("$", "@")


def _needed_ops(tree: exp.Expr, op: WriteOp) -> tuple[WriteOp, ...]:
    if op != "insert":
        return (op,)
    conflict = tree.args.get("conflict")
    if str(tree.args.get("alternative") or "").upper() == "REPLACE":
        return ("insert", "update", "delete")
    if isinstance(conflict, exp.OnConflict) and (
        conflict.args.get("expressions") or conflict.args.get("duplicate")
    ):
        return ("insert", "update")
    return ("insert",)


def _names(values: Iterable[str] | str, what: str) -> list[str]:
    if isinstance(values, str):
        raise ConfigError(f"{what}: expected a list of names, got the string {values!r}")
    return [str(v) for v in values]


def _kind(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return f"{str(node.this).upper()} commands"
    return type(node).__name__.upper()


def _first_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
