"""`agentkit policy check --agent MODULE:Class`: each file checked against an agent's tools."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.cli import main

AGENT_MODULE = '''
from agentkit import Agent, tool


class Mailer(Agent):
    @tool(side_effect="external_send")
    async def send(self, to: str, body: str) -> str:
        """Send a message."""
        return "sent"

    @tool(untrusted_output=True)
    async def inbox(self) -> str:
        """Read the inbox."""
        return ""
'''


@pytest.fixture
def agent_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module holding an Agent subclass, importable from the working directory."""
    name = "policy_check_agent_mod"
    (tmp_path / f"{name}.py").write_text(AGENT_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield f"{name}:Mailer"
    sys.modules.pop(name, None)


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def test_a_policy_that_fits_the_agent_s_tools_is_ok(
    tmp_path: Path, agent_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(
        tmp_path,
        "good.yaml",
        "version: 1\ntools:\n  send:\n    side_effect: external_send\n    action: allow\n"
        "    args: {to: {provenance: {user: true}}}\n  inbox: {action: allow}\n",
    )
    assert main(["policy", "check", "--agent", agent_module, good]) == 0
    assert capsys.readouterr().out == f"{good}: ok with {agent_module} (2 tools)\n"


def test_a_policy_the_agent_s_tools_contradict_fails_with_its_line(
    tmp_path: Path, agent_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = write(
        tmp_path,
        "wrong.yaml",
        "version: 1\ntools:\n  send:\n    action: allow\n    args: {cc: {in_list: x}}\n"
        "  launch: {action: allow}\n",
    )
    fine_alone = write(tmp_path, "alone.yaml", "version: 1\ntools:\n  launch: {action: allow}\n")
    assert main(["policy", "check", fine_alone]) == 0  # without the agent, nothing to compare
    capsys.readouterr()
    assert main(["policy", "check", "--agent", agent_module, wrong, fine_alone]) == 2
    err = capsys.readouterr().err
    assert f"{wrong}:" in err
    assert "launch" in err
    assert f"{fine_alone}:3:" in err


def test_a_side_effect_the_tool_does_not_have_is_refused(
    tmp_path: Path, agent_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    columns = write(
        tmp_path,
        "columns.yaml",
        "version: 1\ntools:\n  inbox: {action: allow, untrusted_columns: [note]}\n",
    )
    assert main(["policy", "check", "--agent", agent_module, columns]) == 2
    assert "untrusted_columns" in capsys.readouterr().err


def test_a_target_that_is_not_an_agent_is_a_usage_error(
    tmp_path: Path, agent_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write(tmp_path, "p.yaml", "version: 1\n")
    module = agent_module.partition(":")[0]
    assert main(["policy", "check", "--agent", f"{module}:Nothing", policy]) != 0
    assert "not an Agent subclass" in capsys.readouterr().err
