"""The worked examples of docs/policy.md load, and the explain example prints what it says."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from agentkit.cli import main
from agentkit.policy import Policy

DOC = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text(encoding="utf-8")
EXAMPLES = [b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S) if b.startswith("version: 1\n")]


def test_there_is_a_worked_example_per_construct() -> None:
    assert len(EXAMPLES) >= 7


@pytest.mark.parametrize("text", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_every_worked_example_loads(text: str) -> None:
    Policy.from_yaml(text, "docs/policy.md")


def test_the_explain_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    [sinks] = [e for e in EXAMPLES if "id: identity-documents" in e]
    (tmp_path / "travel.yaml").write_text(sinks)
    [shown] = re.findall(
        r"\$ (agentkit policy explain travel\.yaml.*?)\n(\w+  rule=\S+)",
        (DOC.replace("\\\n", "")),
        re.S,
    )
    argv = shlex.split(shown[0])[1:]
    argv[2] = str(tmp_path / "travel.yaml")
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[0] == shown[1]
