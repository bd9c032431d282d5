"""The SQL sink on SQLite: records chain, resume and verify; tampering and failures show."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from agentkit.audit import AuditLog, JsonlSink, SqlSink, open_sink, verify_sql
from agentkit.cli import main
from agentkit.errors import AuditWriteFailed, ConfigError


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


def fill(url: str, count: int = 5) -> AuditLog:
    log = AuditLog(SqlSink(url))
    for index in range(count):
        log.record("call.executed", {"run_id": "r1", "call_id": f"c{index}", "n": index})
    log.close()
    return log


def execute(url: str, statement: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(statement)
    engine.dispose()


def test_sqlite_log_verifies_and_resumes(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    first = fill(url, 3)
    with AuditLog(SqlSink(url)) as log:
        assert log.head == first.head
        log.record("run.ended", {"run_id": "r1"})
    result = verify_sql(url)
    assert (result.ok, result.records) == (True, 4)
    assert main(["audit", "verify", url]) == 0
    assert capsys.readouterr().out.strip() == "ok: 4 records"


def test_correlation_columns_are_queryable(url: str) -> None:
    fill(url, 3)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("select call_id from agentkit_audit where run_id = 'r1' order by seq")
        ).all()
    engine.dispose()
    assert [row.call_id for row in rows] == ["c0", "c1", "c2"]


def test_edited_record_is_found(url: str) -> None:
    fill(url)
    execute(url, "update agentkit_audit set record = replace(record, '\"n\":2', '\"n\":9')")
    error = verify_sql(url).error
    assert error is not None
    assert (error.seq, error.kind) == (3, "hash")
    assert main(["audit", "verify", url]) == 1


def test_edited_index_column_is_found(url: str) -> None:
    fill(url)
    execute(url, "update agentkit_audit set run_id = 'someone-else' where seq = 2")
    error = verify_sql(url).error
    assert error is not None
    assert (error.seq, error.kind) == (2, "row")


def test_deleted_row_is_found(url: str) -> None:
    fill(url)
    execute(url, "delete from agentkit_audit where seq = 3")
    error = verify_sql(url).error
    assert error is not None
    assert (error.seq, error.kind) == (4, "seq")


def test_cut_tail_needs_the_anchor(url: str) -> None:
    head = fill(url).head
    execute(url, "delete from agentkit_audit where seq = 5")
    assert verify_sql(url).ok
    assert main(["audit", "verify", url, "--anchor", str(head)]) == 1


def test_write_failure_is_audit_write_failed(url: str) -> None:
    log = AuditLog(SqlSink(url))
    log.record("run.started", {})
    execute(url, "drop table agentkit_audit")
    with pytest.raises(AuditWriteFailed, match="no such table"):
        log.record("run.ended", {})
    log.close()


def test_second_writer_cannot_fork_the_chain(url: str) -> None:
    first, second = AuditLog(SqlSink(url)), AuditLog(SqlSink(url))
    first.record("run.started", {"who": "first"})
    with pytest.raises(AuditWriteFailed):
        second.record("run.started", {"who": "second"})
    first.close()
    second.close()
    assert verify_sql(url).records == 1


def test_bad_url_and_missing_table(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError):
        SqlSink("not a url")
    with pytest.raises(ConfigError, match="no audit table"):
        verify_sql(url)
    with pytest.raises(AuditWriteFailed):
        SqlSink(f"sqlite:///{tmp_path / 'no-such-dir' / 'audit.db'}")


def test_open_sink_picks_the_sink_from_the_target(tmp_path: Path, url: str) -> None:
    sql, jsonl = open_sink(url), open_sink(str(tmp_path / "audit.jsonl"))
    assert isinstance(sql, SqlSink)
    assert isinstance(jsonl, JsonlSink)
    sql.close()
    jsonl.close()
    assert main(["audit", "verify", str(tmp_path / "audit.jsonl"), "--table", "t"]) == 2
