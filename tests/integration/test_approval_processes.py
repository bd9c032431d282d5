"""A run paused in one process is approved from the CLI and resumed in another."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from agentkit.testing import FakeXAI, Script, Turn, serve_in_thread

REPO = Path(__file__).resolve().parents[2]


def worker(*args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.approval_worker", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_pause_approve_resume_across_processes(tmp_path: Path) -> None:
    store = str(tmp_path / "approvals.db")
    log = str(tmp_path / "decisions.jsonl")
    marker = tmp_path / "ran.txt"
    fake = FakeXAI(Script([Turn.call("drop_cache", {"name": "sessions"}), Turn.text("dropped")]))
    with serve_in_thread(fake) as server:
        code, paused = worker("pause", server.base_url, store, str(marker))
        assert (code, paused["status"]) == (0, "awaiting_approval")
        assert not marker.exists(), "nothing of a call runs before its approval"
        [approval_id] = paused["pending"]

        listing = cli("approvals", "--store", store, "list")
        assert approval_id in listing
        assert 'drop_cache({"name":"sessions"})' in listing
        cli("approvals", "--store", store, "approve", approval_id, "--as", "ana", "--audit", log)

        code, done = worker("resume", server.base_url, store, str(marker), paused["run_id"])
        assert (code, done["status"]) == (0, "completed")
        assert marker.read_text() == "sessions\n"

        # the old paused state, resumed again with the same approval, is refused
        code, again = worker("replay", server.base_url, store, str(marker), paused["run_id"])
        assert code == 3
        assert "already used" in again["refused"]
    assert marker.read_text() == "sessions\n", "the call ran exactly once"


def test_a_denied_approval_reaches_the_model_as_declined(tmp_path: Path) -> None:
    store = str(tmp_path / "approvals.db")
    log = str(tmp_path / "decisions.jsonl")
    marker = tmp_path / "ran.txt"
    fake = FakeXAI(Script([Turn.call("drop_cache", {"name": "all"}), Turn.text("ok")]))
    with serve_in_thread(fake) as server:
        _, paused = worker("pause", server.base_url, store, str(marker))
        cli(
            "approvals",
            "--store",
            store,
            "deny",
            paused["pending"][0],
            "--as",
            "ana",
            "--audit",
            log,
        )
        code, done = worker("resume", server.base_url, store, str(marker), paused["run_id"])
    assert (code, done["status"]) == (0, "completed")
    assert not marker.exists()
    outputs = [
        i for i in fake.requests[-1].json["input"] if i.get("type") == "function_call_output"
    ]
    assert "person declined" in outputs[0]["output"]


def test_one_approval_runs_once_whatever_ledger_the_resuming_agents_were_given(
    tmp_path: Path,
) -> None:
    store = str(tmp_path / "approvals.db")
    log = str(tmp_path / "decisions.jsonl")
    marker = tmp_path / "ran.txt"
    fake = FakeXAI(Script([Turn.call("drop_cache", {"name": "sessions"}), Turn.text("dropped")]))
    with serve_in_thread(fake) as server:
        _, paused = worker("pause", server.base_url, store, str(marker))
        cli(
            "approvals",
            "--store",
            store,
            "approve",
            paused["pending"][0],
            "--as",
            "ana",
            "--audit",
            log,
        )
        run_id = paused["run_id"]

        # resumed from the state and the store's decisions, by agents wired to no ledger
        code, done = worker("unwired", server.base_url, store, str(marker), run_id)
        assert (code, done["status"]) == (0, "completed")
        for _ in range(2):
            code, again = worker("unwired", server.base_url, store, str(marker), run_id)
            assert code == 3
            assert "already used" in again["refused"]

        # bare decisions in a process that did not pause the run cannot be single-use: refused
        code, bare = worker("bare", server.base_url, store, str(marker), run_id)
        assert code == 4
        assert "ledger every process shares" in bare["config"]
    assert marker.read_text() == "sessions\n", "one approval, one execution"
