"""`agentkit eval`: the example dataset offline, its reports, and a regression caught."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from agentkit.cli import main
from agentkit.evals import EvalReport

REPO = Path(__file__).resolve().parents[2]
DATASET = str(REPO / "examples" / "evals" / "ops_copilot.yaml")
AGENT = "examples.ops_copilot.agent:OpsCopilot"
BROKEN = "examples.evals.broken_agent:BrokenOpsCopilot"
CASES = (
    "lists-open-tickets",
    "looks-up-the-named-ticket",
    "pages-only-oncall-lists",
    "closing-waits-for-a-person",
    "closes-after-approval",
    "service-split-as-json",
)


def test_the_example_dataset_passes_offline_case_by_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_dir = tmp_path / "report"
    code = main(["eval", DATASET, "--agent", AGENT, "--offline", "--report", str(report_dir)])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    for case in CASES:
        assert f"PASS  {case}  [grok-4-1-fast-non-reasoning]  1/1" in out.out
    assert "6/6 case results passed (offline, 1 model)" in out.out
    assert "offline" in out.err
    assert {p.name for p in report_dir.iterdir()} == {"report.md", "report.html", "report.json"}
    report = EvalReport.load(report_dir / "report.json")
    assert report.passed
    assert [r.case for r in report.results] == list(CASES)
    assert "| lists-open-tickets | PASS 1/1 |" in (report_dir / "report.md").read_text()
    assert '<td class="pass">PASS 1/1</td>' in (report_dir / "report.html").read_text()


def test_the_broken_version_regresses_with_a_readable_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "junit.xml"
    code = main(
        ["eval", DATASET, "--agent", AGENT, "--compare", BROKEN, "--quiet", "--junit", str(junit)]
    )
    out = capsys.readouterr().out
    assert code == 1
    diff = out[out.index("REGRESSION") :]
    assert (
        "REGRESSION looks-up-the-named-ticket [grok-4-1-fast-non-reasoning]: passed 1/1 -> 0/1"
        in diff
    )
    # the wrong tool: the one expected, and the one picked
    assert "tools: expected lookup_ticket; called list_tickets" in diff
    assert '- lookup_ticket {"ticket_id": 42} -> ok' in diff
    assert '+ list_tickets {"status": "open"} -> ok' in diff
    # the bad argument
    assert "REGRESSION lists-open-tickets" in diff
    assert 'status: expected "open", got "closed"' in diff
    assert "2 regressions; 0 fixed, 4 unchanged" in diff
    # the JUnit file is the candidate's: the broken version's two failures
    root = ET.parse(junit).getroot()
    assert int(root.get("failures", "-1")) == 2


def test_a_baseline_report_is_compared_with_a_new_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", DATASET, "--agent", AGENT, "--quiet", "--report", str(tmp_path)]) == 0
    baseline = str(tmp_path / "report.json")
    same = main(["eval", DATASET, "--agent", AGENT, "--quiet", "--baseline", baseline])
    assert same == 0
    assert "no regressions; 0 fixed, 6 unchanged" in capsys.readouterr().out
    worse = main(["eval", DATASET, "--agent", BROKEN, "--quiet", "--baseline", baseline])
    assert worse == 1
    assert "2 regressions" in capsys.readouterr().out


def test_the_junit_xml_counts_add_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junit = tmp_path / "ci" / "eval.xml"
    code = main(["eval", DATASET, "--agent", BROKEN, "--quiet", "--junit", str(junit)])
    capsys.readouterr()
    assert code == 1
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["ops-copilot [grok-4-1-fast-non-reasoning]"]
    cases = suites[0].findall("testcase")
    assert [c.get("name") for c in cases] == list(CASES)
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["lists-open-tickets", "looks-up-the-named-ticket"]
    for element in (root, suites[0]):
        assert int(element.get("tests", "-1")) == len(cases)
        assert int(element.get("failures", "-1")) == len(failed)
        assert element.get("errors") == "0"
    failure = failed[1].find("failure")
    assert failure is not None
    assert "expected lookup_ticket; called list_tickets" in failure.get("message", "")
    assert all(float(c.get("time", "-1")) >= 0 for c in cases)


def test_two_models_compare_and_repeat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["eval", DATASET, "--agent", AGENT, "--quiet", "--case", "lists-open-tickets"]
    models = ["--model", "grok-4-1-fast-non-reasoning", "--model", "grok-4"]
    code = main([*args, *models, "--compare-models", "--repeat", "2", "--report", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "lists-open-tickets  PASS 2/2                     PASS 2/2" in out
    assert "no regressions; 0 fixed, 1 unchanged" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["models"] == ["grok-4-1-fast-non-reasoning", "grok-4"]
    assert (tmp_path / "comparison.txt").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--compare-models"], "exactly two --model"),
        (["--case", "nope"], "no case named 'nope'"),
        (["--threshold", "0"], "--threshold"),
    ],
)
def test_usage_mistakes_exit_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", DATASET, "--agent", AGENT, *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_dataset_exits_2_naming_the_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "cases:\n  - name: oops\n    inputs: {prompt: hi}\n"
        "    expected: {tools: {order: sideways}}\n",
        encoding="utf-8",
    )
    assert main(["eval", str(bad), "--agent", AGENT]) == 2
    assert "case 'oops': expected.tools.order" in capsys.readouterr().err
