"""`agentkit tokens create|revoke`: a token printed once, stored only hashed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agentkit.cli import main
from agentkit.serve import TokenStore


def test_create_prints_a_token_that_is_stored_hashed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tokens.db"
    argv = ["tokens", "create", "--user", "ana", "--role", "lead", "--tokens", str(path)]
    assert main([*argv, "--workspace", "acme"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("akt_")
    with sqlite3.connect(path) as db:
        stored = db.execute("SELECT * FROM tokens").fetchall()
    assert token not in repr(stored)  # only its digest
    who = TokenStore(path).lookup(token)
    assert who is not None
    assert (who.user_id, who.roles, who.workspace) == ("ana", ("lead",), "acme")
    assert main(["tokens", "revoke", token, "--tokens", str(path)]) == 0
    assert TokenStore(path).lookup(token) is None
    assert main(["tokens", "revoke", token, "--tokens", str(path)]) == 1


def test_a_token_needs_a_user(tmp_path: Path) -> None:
    assert main(["tokens", "create", "--user", " ", "--tokens", str(tmp_path / "t.db")]) == 2
