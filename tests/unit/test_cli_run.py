"""`agentkit run`: load an Agent subclass by name and print its transcript."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkit import Agent, tool
from agentkit.cli import main


class Echo(Agent):
    """A small agent for the CLI: one tool the offline test model will call."""

    model = "grok-4-1-fast-non-reasoning"

    @tool
    async def shout(self, text: str) -> str:
        """Shout a text back."""
        return text.upper()


class NotAnAgent:
    pass


def test_run_offline_prints_a_transcript(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "tests.unit.test_cli_run:Echo", "say hi", "--user", "ana"])
    out = capsys.readouterr()
    assert code == 0
    assert "offline" in out.out
    assert "call  shout(" in out.out
    assert "answer" in out.out
    assert "no XAI_API_KEY" in out.err


def test_run_json_is_the_run_state(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "tests.unit.test_cli_run:Echo", "x", "--offline", "--json"]) == 0
    state: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert state["status"] == "completed"
    assert state["steps"][0]["tool"] == "shout"
    assert state["principal"]["user_id"] == "cli"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nocolon", "expected MODULE:Class"),
        ("no.such.module:Agent", "cannot import"),
        ("tests.unit.test_cli_run:NotAnAgent", "not an Agent subclass"),
    ],
)
def test_bad_targets_are_clear_errors(
    target: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", target, "x", "--offline"]) == 2
    assert message in capsys.readouterr().err
