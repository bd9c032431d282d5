"""The README's first example and policy work as printed (run offline, in-process).

tests/integration/test_docs_snippets.py runs the same example from the built wheel."""

from __future__ import annotations

import io
import re
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

    (tmp_path / "copilot.yaml").write_text(blocks("yaml")[0])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTKIT_AUDIT_DIR", str(tmp_path / "audit"))
    example = blocks("python")[0]
    # the example runs offline already (its own scripted model); a terminal that answers "y"
    assert "client=scripted_client(OpsCopilot.offline_script)" in example
    example = example.replace(
        "TerminalApprover()", "TerminalApprover(stream_in=ANSWERS, stream_out=SHOWN)"
    )
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "ANSWERS": io.StringIO("y\n"),
        "SHOWN": io.StringIO(),
    }
    exec(compile(example, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert isinstance(namespace["agent"], Agent)
    assert result.status == "completed"
    assert [s.status for s in result.steps] == ["ok", "ok", "denied"]
    assert "Approval needed: close_ticket" in namespace["SHOWN"].getvalue()
    assert (tmp_path / "audit" / "audit.jsonl").exists()  # the default log
