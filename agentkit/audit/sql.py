"""The SQL audit sink (SQLite by default, PostgreSQL by URL) and its verifier.

SQLAlchemy is imported only when one of these is used. Each row keeps the record's
exact stored line plus indexed copies of seq, event, run_id and call_id for queries;
verification checks the copies against the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from agentkit.audit.records import Anchor, SealedRecord, parse_line
from agentkit.audit.verify import ChainBreak, ChainVerifier, VerifyResult
from agentkit.errors import AuditWriteFailed, ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Engine

DEFAULT_URL = "sqlite:///agentkit-audit.sqlite3"
DEFAULT_TABLE = "agentkit_audit"
_COPIED = ("seq", "ts", "event", "prev", "hash")


class SqlSink:
    """Inserts one row per record, each in its own committed transaction.

    The primary key is ``seq``, so a second writer racing on the same table fails
    with AuditWriteFailed instead of forking the chain.

    Args:
        url: a SQLAlchemy URL, e.g. ``sqlite:///audit.db`` or
            ``postgresql+psycopg://user@host/db``.
        table: the table name; created when missing.
        engine: an existing engine to use instead of `url` (it is not disposed on close).
        fsync: on SQLite, wait for the disk at every commit (``synchronous=FULL``);
            otherwise a committed record survives a process crash but not a power cut
            (WAL with ``synchronous=NORMAL``), like JsonlSink. PostgreSQL keeps the
            server's own setting.

    Example:
        >>> from agentkit.audit import AuditLog
        >>> log = AuditLog(SqlSink("sqlite:///audit.db"))  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        table: str = DEFAULT_TABLE,
        engine: Engine | None = None,
        fsync: bool = False,
    ) -> None:
        sqlalchemy = _import_sqlalchemy()
        self._owns_engine = engine is None
        try:
            self._engine: Engine | None = engine or _create_engine(url, fsync=fsync)
            self._table = audit_table(table)
            self._table.metadata.create_all(self._engine)
            self._tail = self._read_tail()
        except sqlalchemy.exc.ArgumentError as exc:
            raise ConfigError(f"not a database URL: {url!r}") from exc
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise AuditWriteFailed(f"cannot open the audit table {table!r}: {_brief(exc)}") from exc

    def tail(self) -> Anchor | None:
        """The last row's (seq, hash) when the sink opened."""
        return self._tail

    def write(self, record: SealedRecord) -> None:
        """Insert and commit one row; raise AuditWriteFailed on any database error."""
        if self._engine is None:
            raise AuditWriteFailed("the SQL audit sink is closed")
        row = {name: getattr(record, name) for name in _COPIED}
        row.update(run_id=record.run_id, call_id=record.call_id, record=record.line)
        try:
            with self._engine.begin() as connection:
                connection.execute(self._table.insert(), row)
        except Exception as exc:
            raise AuditWriteFailed(
                f"cannot insert audit record {record.seq}: {_brief(exc)}"
            ) from exc

    def records_of_run(self, run_id: str) -> Iterator[dict[str, Any]]:
        """The rows of `run_id` (an indexed column), in seq order, parsed."""
        import sqlalchemy

        if self._engine is None:
            raise AuditWriteFailed("the SQL audit sink is closed")
        columns = self._table.c
        query = (
            sqlalchemy.select(columns.record).where(columns.run_id == run_id).order_by(columns.seq)
        )
        try:
            with self._engine.connect() as connection:
                rows = connection.execute(query).all()
        except Exception as exc:
            raise AuditWriteFailed(
                f"cannot read the audit records of {run_id}: {_brief(exc)}"
            ) from exc
        for row in rows:
            yield parse_line(str(row.record))

    def close(self) -> None:
        """Dispose of the engine when this sink created it; idempotent."""
        engine, self._engine = self._engine, None
        if engine is not None and self._owns_engine:
            engine.dispose()

    def _read_tail(self) -> Anchor | None:
        import sqlalchemy

        assert self._engine is not None
        columns = self._table.c
        query = sqlalchemy.select(columns.seq, columns.hash).order_by(columns.seq.desc()).limit(1)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return Anchor(int(row.seq), str(row.hash)) if row is not None else None


def _create_engine(url: str, *, fsync: bool) -> Engine:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    if engine.dialect.name == "sqlite":
        synchronous = "FULL" if fsync else "NORMAL"

        def tune(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.close()

        sqlalchemy.event.listen(engine, "connect", tune)
    return engine


def audit_table(name: str = DEFAULT_TABLE) -> Table:
    """The table definition (in its own MetaData)."""
    import sqlalchemy as sa

    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("event", sa.String(64), nullable=False, index=True),
        sa.Column("run_id", sa.String(200), index=True),
        sa.Column("call_id", sa.String(200)),
        sa.Column("prev", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
    )


def verify_sql(
    url: str = DEFAULT_URL,
    *,
    table: str = DEFAULT_TABLE,
    anchor: Anchor | None = None,
    engine: Engine | None = None,
) -> VerifyResult:
    """Verify an SQL audit table in seq order, and each row's copies against its record.

    Raises:
        ConfigError: the database or table cannot be read.
    """
    sqlalchemy = _import_sqlalchemy()
    owned = engine is None
    try:
        engine = engine or sqlalchemy.create_engine(url)
        if not sqlalchemy.inspect(engine).has_table(table):
            raise ConfigError(f"no audit table {table!r} in {url}")
        try:
            return _verify_rows(engine, audit_table(table), anchor)
        finally:
            if owned:
                engine.dispose()
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise ConfigError(f"cannot read the audit table {table!r}: {_brief(exc)}") from exc


def _verify_rows(engine: Engine, table: Table, anchor: Anchor | None) -> VerifyResult:
    import sqlalchemy

    verifier = ChainVerifier(anchor)
    number = 0
    query = sqlalchemy.select(table).order_by(table.c.seq)
    with engine.connect() as connection:
        rows = connection.execution_options(yield_per=1000).execute(query)
        for number, row in enumerate(rows, start=1):
            try:
                record = parse_line(row.record)
            except ValueError as exc:
                return verifier.result(ChainBreak(number, row.seq, "unreadable", str(exc)))
            error = _row_mismatch(row._mapping, record, number) or verifier.check(
                record, number, row.record
            )
            if error is not None:
                return verifier.result(error)
    return verifier.result(verifier.finish(number + 1))


def _row_mismatch(row: Any, record: dict[str, Any], number: int) -> ChainBreak | None:
    fields = record.get("fields") if isinstance(record.get("fields"), dict) else {}
    expected = {name: record.get(name) for name in _COPIED}
    for name in ("run_id", "call_id"):
        value = fields.get(name) if isinstance(fields, dict) else None
        expected[name] = value if isinstance(value, str) else None
    for name, value in expected.items():
        if row[name] != value:
            return ChainBreak(
                number,
                row["seq"],
                "row",
                f"column {name} is {json.dumps(row[name])} but the record says {json.dumps(value)}",
            )
    return None


def _import_sqlalchemy() -> Any:
    try:
        import sqlalchemy
        import sqlalchemy.exc
    except ImportError as exc:
        raise ConfigError(
            "the SQL audit sink needs SQLAlchemy: pip install 'agentkit[db]'"
        ) from exc
    return sqlalchemy


def _brief(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's long background note."""
    orig = getattr(exc, "orig", None)
    return (str(orig) if orig is not None else str(exc)).strip().splitlines()[0]
