"""The approval store's files are private: 0600 files, 0700 directories agentkit creates."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.approval_store import ApprovalStore
from agentkit.decision import Principal
from agentkit.state import RunResult


@pytest.fixture(autouse=True)
def _permissive_umask() -> Iterator[None]:
    """The usual umask (022), under which defaults would be world-readable."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def a_run() -> RunResult:
    return RunResult(
        run_id="run_1",
        agent="A",
        model="grok-4",
        principal=Principal(user_id="ann"),
        status="awaiting_approval",
    )


def test_database_file_is_0600_and_new_directories_0700(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    path = tmp_path / "state" / "agentkit" / "approvals.db"
    ApprovalStore(path).save(a_run())
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o700
    assert mode(tmp_path) == 0o755, "a directory agentkit did not create is left alone"


def test_journal_wal_and_shm_files_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "approvals.db"
    store = ApprovalStore(path)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO consumed VALUES ('apr_x', 0)")
        journal = path.with_name(path.name + "-journal")
        assert journal.exists()
        assert mode(journal) == 0o600
        db.execute("ROLLBACK")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("INSERT INTO consumed VALUES ('apr_y', 0)")  # opens -wal and -shm
        store.save(a_run())
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            assert side.exists(), suffix
            assert mode(side) == 0o600, suffix
    finally:
        db.close()


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "approvals.db"
    sqlite3.connect(path).close()
    path.chmod(0o640)
    ApprovalStore(path)
    assert mode(path) == 0o640
