"""An agent given no audit recorder writes one: the process's log in ``.agentkit/audit/``."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from agentkit import Agent, tool
from agentkit.audit import JsonlSink, default_log, verify_file
from agentkit.testing import Turn, scripted_client


class Reader(Agent):
    @tool
    async def look(self, n: int) -> str:
        """Look something up."""
        return f"row {n}"


def reader(**options: object) -> Reader:
    client = scripted_client([Turn.call("look", {"n": 1}), Turn.text("done")])
    return Reader(client=client, **options)  # type: ignore[arg-type]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(default_log.FOLDER_VARIABLE, str(tmp_path / "audit"))
    monkeypatch.setattr(default_log, "_logs", {})
    return tmp_path / "audit"


def test_runs_of_agents_given_no_audit_go_to_one_chain_that_verifies(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="agentkit.audit.default_log"):
        first = reader().run_sync("look")
        second = reader().run_sync("look again")
    log = folder / "audit.jsonl"
    result = verify_file(log)
    assert result.ok
    text = log.read_text()
    assert text.count('"run.started"') == 2
    assert first.run_id in text
    assert second.run_id in text
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1  # once, saying where
    assert str(log) in said[0]
    assert (log.stat().st_mode & 0o777, folder.stat().st_mode & 0o777) == (0o600, 0o700)


def test_audit_none_writes_nothing(folder: Path) -> None:
    assert reader(audit=None).run_sync("look").status == "completed"
    assert not folder.exists()


def test_building_an_agent_opens_nothing_until_it_runs(folder: Path) -> None:
    reader()
    assert not folder.exists()


def test_a_log_held_by_another_writer_sends_this_process_to_a_file_of_its_own(
    folder: Path,
) -> None:
    folder.mkdir(mode=0o700)
    holder = JsonlSink(folder / "audit.jsonl")  # stands for another process's log
    try:
        reader().run_sync("look")
    finally:
        holder.close()
    [own] = [p for p in folder.iterdir() if p.name != "audit.jsonl"]
    assert own.name == f"audit-{os.getpid()}.jsonl"
    assert verify_file(own).ok
    assert (folder / "audit.jsonl").read_text() == ""
