"""What `agentkit run` and `resume` exit with, and the command a paused run is kept with."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit import Agent, RunConfig
from agentkit.cli import main, saved_runs
from agentkit.cli.run_outcome import COMPLETED, DENIED, FAILED, PAUSED, exit_code
from agentkit.decision import Principal
from agentkit.errors import ConfigError, RunStateError
from agentkit.state import RunResult, Step
from agentkit.testing import Script, Turn

STEP_STATUSES = ["ok", "denied", "declined", "failed", "invalid", "approved", "server"]


def run_with(status: str, step_statuses: list[str]) -> RunResult:
    run = RunResult(run_id="r1", agent="A", model="m", principal=Principal(), status=status)  # type: ignore[arg-type]
    run.steps = [
        Step(call_id=f"c{i}", tool="t", turn=1, raw_arguments="{}", status=s)  # type: ignore[arg-type]
        for i, s in enumerate(step_statuses)
    ]
    return run


@given(st.lists(st.sampled_from(STEP_STATUSES), max_size=6))
def test_every_status_has_its_own_code(steps: list[str]) -> None:
    refused = any(s in ("denied", "declined") for s in steps)
    assert exit_code(run_with("completed", steps)) == (DENIED if refused else COMPLETED)
    assert exit_code(run_with("awaiting_approval", steps)) == PAUSED
    assert exit_code(run_with("failed", steps)) == FAILED
    assert len({COMPLETED, DENIED, PAUSED, FAILED, ConfigError.exit_code}) == 5


def test_a_saved_command_round_trips_private(tmp_path: Path) -> None:
    store = tmp_path / "approvals.db"
    command = saved_runs.SavedCommand(
        target="m:A", offline=True, user="ana", roles=["operator"], workdir="/w"
    )
    saved_runs.save(store, "run-1", command)
    assert saved_runs.load(store, "run-1") == command
    path = saved_runs.folder_of(store) / "run-1.json"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(path.parent).st_mode & 0o777 == 0o700


@pytest.mark.parametrize("run_id", ["../escape", "a/b", "", "x" * 129, "apr id"])
def test_a_run_id_never_names_a_path(tmp_path: Path, run_id: str) -> None:
    with pytest.raises(ConfigError):
        saved_runs.save(tmp_path / "s.db", run_id, saved_runs.SavedCommand(target="m:A"))


@pytest.mark.parametrize("text", ["", "[1]", '{"target": "m:A", "unknown": 1}', "{"])
def test_an_unreadable_saved_command_is_a_typed_error(tmp_path: Path, text: str) -> None:
    store = tmp_path / "s.db"
    saved_runs.save(store, "r", saved_runs.SavedCommand(target="m:A"))
    (saved_runs.folder_of(store) / "r.json").write_text(text, encoding="utf-8")
    with pytest.raises(RunStateError, match="unreadable"):
        saved_runs.load(store, "r")


def test_a_run_not_started_by_the_cli_says_so(tmp_path: Path) -> None:
    with pytest.raises(RunStateError, match="not started by `agentkit run`"):
        saved_runs.load(tmp_path / "s.db", "r")


class Streaming(Agent):
    config = RunConfig(stream=True)
    offline_script = Script([Turn.text("The disk on the replica is full, nothing else.")])


def test_a_streamed_answer_is_printed_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "tests.unit.test_cli_run_outcome:Streaming", "why?", "--offline"]
    assert main([*argv, "--store", str(tmp_path / "s.db")]) == 0
    out = capsys.readouterr().out
    assert out.count("The disk on the replica is full, nothing else.") == 1
    assert "status completed" in out
