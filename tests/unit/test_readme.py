"""The README's first example and policy work as printed (run offline against the fake)."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def blocks(kind: str) -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{kind}\n(.*?)```", text, re.S)


def test_the_first_example_runs_under_its_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentkit import Agent
    from agentkit.testing import FakeXAI, Script, Turn, scripted_client

    shutil.copy(REPO / "agentkit" / "policies" / "baseline.yaml", tmp_path)
    (tmp_path / "copilot.yaml").write_text(blocks("yaml")[0])
    monkeypatch.chdir(tmp_path)
    fake = FakeXAI(
        Script(
            [
                Turn.calls(
                    [
                        ("lookup_ticket", {"ticket_id": 42}),
                        ("close_ticket", {"ticket_id": 42, "resolution": "duplicate of 41"}),
                        ("page_oncall", {"recipient": "everyone@example.com", "message": "hi"}),
                    ]
                ),
                Turn.text("Ticket 42 was a duplicate; closed."),
            ]
        )
    )
    example = blocks("python")[0]
    # the example's agent, run offline: a fake model and a terminal that answers "y"
    example = example.replace(
        "agent = OpsCopilot(\n", "agent = OpsCopilot(\n    client=CLIENT,\n"
    ).replace("TerminalApprover()", "TerminalApprover(stream_in=ANSWERS, stream_out=SHOWN)")
    namespace: dict[str, Any] = {
        "__name__": "readme",
        "CLIENT": scripted_client(fake),
        "ANSWERS": io.StringIO("y\n"),
        "SHOWN": io.StringIO(),
    }
    exec(compile(example, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert isinstance(namespace["agent"], Agent)
    assert result.status == "completed"
    assert [s.status for s in result.steps] == ["ok", "ok", "denied"]
    assert (tmp_path / "audit.jsonl").exists()
