"""The SQL audit sink against a real PostgreSQL server started on loopback for this module."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from glob import glob
from pathlib import Path
from typing import NoReturn

import pytest

from agentkit.audit import AuditLog, SqlSink, verify_sql
from agentkit.cli import main
from agentkit.errors import AuditWriteFailed

pytestmark = pytest.mark.postgres


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_server_user(base: Path, missing_service: Callable[[str], NoReturn]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the postgres account then."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        missing_service("running PostgreSQL as root needs runuser and a postgres account")
    shutil.chown(base, user="postgres")
    return [runuser, "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def url(missing_service: Callable[[str], NoReturn]) -> Iterator[str]:
    """A PostgreSQL URL; each test uses its own table (see `table_name`)."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        missing_service("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing_service("the psycopg driver is not installed (pip install 'agentkit[db]')")
    base = Path(tempfile.mkdtemp(prefix="agentkit-audit-pg-"))
    prefix = _as_server_user(base, missing_service)
    data, port = base / "data", _free_port()
    try:
        _start(prefix, initdb, pg_ctl, data, port)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


def _start(prefix: list[str], initdb: str, pg_ctl: str, data: Path, port: int) -> None:
    subprocess.run(
        [*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {data.parent} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *prefix,
            pg_ctl,
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(data.parent / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )


def table_name(request: pytest.FixtureRequest) -> str:
    return f"audit_{request.node.name.replace('[', '_').replace(']', '')}"[:60]


def test_postgres_log_chains_resumes_and_verifies(
    url: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    table = table_name(request)
    with AuditLog(SqlSink(url, table=table)) as log:
        log.record("run.started", {"run_id": "r1", "api_key": "xai-" + "k" * 30})
        log.record("run.paused", {"run_id": "r1"})
    with AuditLog(SqlSink(url, table=table)) as resumed:
        assert resumed.head == log.head
        resumed.record("run.resumed", {"run_id": "r1"})
    result = verify_sql(url, table=table)
    assert (result.ok, result.records) == (True, 3)
    assert main(["audit", "verify", url, "--table", table]) == 0
    assert capsys.readouterr().out.strip() == "ok: 3 records"


def test_postgres_threads_share_one_log(url: str, request: pytest.FixtureRequest) -> None:
    table = table_name(request)
    log = AuditLog(SqlSink(url, table=table))

    def work(worker: int) -> None:
        for index in range(50):
            log.record("call.executed", {"run_id": f"w{worker}", "n": index})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    result = verify_sql(url, table=table)
    assert (result.ok, result.records) == (True, 200)


def test_postgres_tampering_is_found(url: str, request: pytest.FixtureRequest) -> None:
    import sqlalchemy as sa

    table = table_name(request)
    with AuditLog(SqlSink(url, table=table)) as log:
        for index in range(4):
            log.record("call.executed", {"n": index})
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"update {table} set record = replace(record, '\"n\":1', '\"n\":5')"
        )
    engine.dispose()
    error = verify_sql(url, table=table).error
    assert error is not None
    assert (error.seq, error.kind) == (2, "hash")


def test_postgres_second_writer_is_refused(url: str, request: pytest.FixtureRequest) -> None:
    table = table_name(request)
    first, second = AuditLog(SqlSink(url, table=table)), AuditLog(SqlSink(url, table=table))
    first.record("run.started", {})
    with pytest.raises(AuditWriteFailed, match="duplicate key"):
        second.record("run.started", {})
    first.close()
    second.close()
