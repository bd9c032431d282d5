"""The AgentDojo replay, small: a few pairs of two suites, and the example policies load.

Needs the `agentdojo` package (the `[bench]` extra, `.venv-bench`); the dev environment
does not have it, so these tests skip there.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("agentdojo")

from agentkit.cli import main
from examples.agentdojo.toolkit import SUITES, bound, suite, suite_tools

REPO = Path(__file__).resolve().parents[2]
AGENTS = {
    "workspace": "WorkspaceAgent",
    "travel": "TravelAgent",
    "banking": "BankingAgent",
    "slack": "SlackAgent",
}

pytestmark = pytest.mark.slow  # importing agentdojo alone takes seconds


@pytest.mark.parametrize("name", SUITES)
def test_each_example_policy_loads_against_its_agent_s_tools(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    target = f"examples.agentdojo.agents:{AGENTS[name]}"
    policy = f"examples/agentdojo/{name}.yaml"
    assert main(["policy", "check", "--agent", target, policy]) == 0
    assert capsys.readouterr().out.startswith(f"{policy}: ok with {target}")


def test_a_tool_runs_the_real_agentdojo_function_against_the_bound_environment() -> None:
    from agentdojo.agent_pipeline.tool_execution import tool_result_to_str

    [balance] = [t for t in suite_tools("banking") if t.name == "get_balance"]
    environment = suite("banking").load_and_inject_default_environment({})
    with bound(environment):
        text = asyncio.run(balance.invoke({}))
    assert text == tool_result_to_str(environment.bank_account.balance)
    [send] = [t for t in suite_tools("banking") if t.name == "send_money"]
    assert send.side_effect == "financial"
    assert set(send.parameters["required"]) == {"recipient", "amount", "subject", "date"}


def test_a_few_pairs_replay_and_the_policies_stop_at_least_what_the_floor_stops(
    tmp_path: Path,
) -> None:
    out = tmp_path / "replay.json"
    command = [sys.executable, "-m", "tools.bench.agentdojo", "--suite", "banking"]
    command += ["--suite", "slack", "--user-tasks", "2", "--injection-tasks", "2"]
    command += ["--json", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "| **total** | 8 | 4 |" in done.stdout
    data = json.loads(out.read_text())
    assert data["partial"] is True
    floor, shipped = (data["results"][k]["total"] for k in ("allow_all", "policies"))
    for figures in (floor, shipped):
        assert (figures["pairs"], figures["benign"], figures["errors"]) == (8, 4, 0)
    assert floor["stopped_by_denial"] == 0  # allow-all never denies; it only confirms
    assert floor["benign_never_denied"] == 4
    assert shipped["stopped"] >= floor["stopped"]
    assert shipped["stopped_by_denial"] <= shipped["stopped"]
    assert set(data["policies"]) == {"banking", "slack"}
    assert not any(Path(p).is_absolute() for p in data["policies"].values())
