"""An agent given no policy is safe: reads run, every other call waits for a person.

Also the shipped policies named without a path (``agentkit:NAME``), from any folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import agentkit.agent
from agentkit import Agent, tool
from agentkit.agent import DefaultPolicyWarning
from agentkit.audit import AuditLog, MemorySink
from agentkit.decision import SIDE_EFFECTS, SideEffect
from agentkit.errors import PolicyLoadError
from agentkit.policy import Policy, load_policy
from agentkit.testing import Turn, scripted_client

REPO = Path(__file__).resolve().parents[2]


def lines(sink: MemorySink) -> list[str]:
    return [record.line for record in sink.records]


def agent_with(side_effect: SideEffect, audit: AuditLog | None = None) -> tuple[Agent, list[Any]]:
    ran: list[Any] = []

    class Payer(Agent):
        @tool(side_effect=side_effect)
        async def pay(self, amount: int) -> str:
            """Pay someone."""
            ran.append(amount)
            return "paid"

    client = scripted_client([Turn.call("pay", {"amount": 1_000_000}), Turn.text("done")])
    return Payer(client=client, audit=audit), ran


@pytest.mark.parametrize("side_effect", [s for s in SIDE_EFFECTS if s != "read"])
def test_without_a_policy_a_call_that_is_not_a_read_waits_for_a_person(
    side_effect: SideEffect,
) -> None:
    agent, ran = agent_with(side_effect)
    result = agent.run_sync("pay a million")
    assert ran == []
    assert result.status == "awaiting_approval"
    [pending] = result.pending
    assert pending.tool == "pay"
    assert result.steps[0].decision is not None
    assert result.steps[0].decision.action == "confirm"


def test_without_a_policy_a_read_runs_and_the_audit_names_the_default_policy() -> None:
    sink = MemorySink()
    agent, ran = agent_with("read", AuditLog(sink))
    result = agent.run_sync("look")
    assert (result.status, ran) == ("completed", [1_000_000])
    started = [r for r in map(json.loads, lines(sink)) if r["event"] == "run.started"]
    assert [r["fields"]["policy"] for r in started] == ["agentkit:default"]


def test_a_financial_call_without_a_policy_is_audited_as_confirmed_by_the_default() -> None:
    sink = MemorySink()
    agent, ran = agent_with("financial", AuditLog(sink))
    agent.run_sync("pay a million")
    decided = [r["fields"] for r in map(json.loads, lines(sink)) if r["event"] == "call.decided"]
    assert [(d["action"], d["rule"]) for d in decided] == [("confirm", "classes.financial")]
    assert ran == []


def test_the_default_policy_is_announced_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agentkit.agent, "_warned_default_policy", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        agent_with("read")
        agent_with("write")
    said = [w for w in caught if issubclass(w.category, DefaultPolicyWarning)]
    assert len(said) == 1
    assert "agentkit:default" in str(said[0].message)
    assert Path(said[0].filename).name == Path(__file__).name  # points at the caller's line


def test_a_policy_given_is_not_announced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agentkit.agent, "_warned_default_policy", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Agent(policy=Policy.from_yaml("version: 1\n"), client=scripted_client([Turn.text("hi")]))
    assert not [w for w in caught if issubclass(w.category, DefaultPolicyWarning)]


def test_a_policy_extends_a_shipped_one_by_name_from_any_folder(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("version: 1\nextends: agentkit:baseline\ntools:\n  a: {action: allow}\n")
    policy = load_policy(mine)
    assert policy.sources == ("agentkit:baseline", str(mine))
    assert policy.spec.run_limits is not None  # the baseline's budgets came with it
    assert load_policy("agentkit:ops_copilot").sources[0] == "agentkit:baseline"


def test_an_unknown_shipped_name_is_a_load_error_naming_the_choices(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("version: 1\nextends: agentkit:basline\n")
    with pytest.raises(PolicyLoadError) as caught:
        load_policy(mine)
    message = str(caught.value)
    assert "did you mean 'baseline'" in message
    assert "mine.yaml:2" in message
    for bad in ("agentkit:../baseline", "agentkit:", "agentkit:Baseline"):
        with pytest.raises(PolicyLoadError, match="no shipped policy"):
            load_policy(bad)


def test_policy_show_prints_a_shipped_policy_and_lists_them() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentkit", "policy", *args],
            cwd=REPO,  # the shipped files come from the package, not from the folder
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    shown = cli("show", "baseline")
    assert shown.returncode == 0
    assert shown.stdout == (REPO / "agentkit" / "policies" / "baseline.yaml").read_text()
    listed = cli("show")
    assert "agentkit:default" in listed.stdout.split()
    missing = cli("show", "nope")
    assert missing.returncode == 2
    assert "shipped:" in missing.stderr
