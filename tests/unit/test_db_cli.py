"""`agentkit db query` on a SQLite file: the tool's code path, JSON out, exit 3 when refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from agentkit.cli import main


@pytest.fixture
def url(tmp_path: Path) -> str:
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL);"
        "CREATE TABLE secrets (id INTEGER, value TEXT);"
        "INSERT INTO orders VALUES (1, 2.5), (2, 4.0), (3, 1.0);"
        "INSERT INTO secrets VALUES (1, 'hunter2');"
    )
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def test_prints_rows_as_json(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["db", "query", url, "SELECT id FROM orders WHERE total > ? ORDER BY id",
         "--params", "[1.5]", "--table", "orders", "--max-rows", "1"]
    )  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["rows"] == [[1]]
    assert out["truncated"] is True
    assert out["untrusted"] is False


def test_refused_statement_exits_3_with_the_reason(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["db", "query", url, "SELECT * FROM secrets", "--table", "orders"])
    assert code == 3
    assert "table 'secrets' is not allowed" in capsys.readouterr().err


def test_without_table_flags_every_table_is_readable(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "query", url, "SELECT value FROM secrets"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == [["hunter2"]]
    assert main(["db", "query", url, "DELETE FROM secrets"]) == 3
