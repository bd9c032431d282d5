"""`agentkit policy check` reports every problem of a file in one run, whatever its stage.

A schema problem (a bad value, an unknown key) used to hide every compile problem (an
unknown role, a class that may not be allowed) behind it. The faults below are
independent; any combination of them must come back whole, each at its own line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.cli import main
from agentkit.errors import PolicyInvalid, PolicyLoadError
from agentkit.policy import load_policy
from agentkit.policy.problems import collect_problems

# (section, YAML lines of the entry, what the message says); {i} makes names unique
FAULTS: list[tuple[str, str, str]] = [
    ("tools", "  bad_class_{i}: {{side_effect: reed, action: allow}}", "side_effect"),
    ("tools", "  bad_action_{i}: {{action: alow}}", "action"),
    ("tools", "  bad_role_{i}: {{action: allow, roles: [operatr_{i}]}}", "unknown role"),
    ("tools", "  bad_key_{i}: {{action: allow, rate_limt: {{per_run: 1}}}}", "unknown key"),
    ("roles", "  r_{i}: {{includes: [ghost_{i}]}}", "unknown role 'ghost_"),
    ("rules", "  - {{id: rule_{i}, tools: [ok_tool], action: deny, unles: {{}}}}", "unless"),
    ("rules", "  - {{id: when_{i}, tools: [ok_tool], action: maybe}}", "action"),
]
CLEAN = {"tools": ["  ok_tool: {action: allow}"], "roles": ["  support: {}"], "rules": []}


def policy_text(faults: list[int]) -> tuple[str, list[tuple[int, str]]]:
    """The file, and (line, message part) of each fault in it."""
    sections = {name: list(lines) for name, lines in CLEAN.items()}
    for i, fault in enumerate(faults):
        section, line, _ = FAULTS[fault]
        sections[section].append(line.format(i=i))
    text, expected = ["version: 1"], []
    for name in ("roles", "tools", "rules"):
        if not sections[name]:
            continue
        text.append(f"{name}:")
        for line in sections[name]:
            text.append(line)
            for i, fault in enumerate(faults):
                if line == FAULTS[fault][1].format(i=i) and FAULTS[fault][0] == name:
                    expected.append((len(text), FAULTS[fault][2]))
    return "\n".join(text) + "\n", expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, len(FAULTS) - 1), min_size=1, max_size=6))
def test_every_fault_is_reported_at_its_line(
    tmp_path_factory: pytest.TempPathFactory, faults: list[int]
) -> None:
    path = tmp_path_factory.mktemp("p") / "p.yaml"
    text, expected = policy_text(faults)
    path.write_text(text)
    with pytest.raises(PolicyInvalid) as raised, collect_problems():
        load_policy(path)
    found = [(p.line, p.detail) for p in raised.value.problems]
    assert len(found) == len(expected), (text, found)
    for line, part in expected:
        assert any(at == line and part in detail for at, detail in found), (line, part, found)


def test_outside_check_the_first_problem_still_raises(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    text, _ = policy_text([4, 0])  # a compile problem and a schema problem
    path.write_text(text)
    with pytest.raises(PolicyLoadError) as raised:
        load_policy(path)
    problems = getattr(raised.value, "problems", (raised.value,))
    assert len(problems) == 1  # the schema stage stops the load, as it always did


def test_a_clean_file_checks_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(policy_text([])[0])
    assert main(["policy", "check", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"


def test_the_command_prints_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    text, expected = policy_text([0, 2, 4, 5])
    path.write_text(text)
    assert main(["policy", "check", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1] for line in err] == [str(line) for line, _ in sorted(expected)]
