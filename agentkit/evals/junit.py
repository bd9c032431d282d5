"""An `EvalReport` as JUnit XML, for CI: a test suite per model, a test case per case.

A case that did not pass has one ``<failure>`` listing every failing check of every run;
its ``message`` is the first of them. The counts on ``<testsuites>`` and each
``<testsuite>`` add up the cases under them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from agentkit.evals.results import CaseResult, EvalReport


def junit_xml(report: EvalReport) -> str:
    """The report as a JUnit XML document (``<testsuites>``)."""
    root = ET.Element("testsuites", name=f"agentkit eval {report.dataset}")
    total_tests = total_failures = 0
    total_time = 0.0
    for model in report.models:
        results = [r for r in report.results if r.model == model]
        failures = sum(1 for r in results if not r.passed)
        seconds = sum(_seconds(r) for r in results)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"{report.dataset} [{model}]",
            tests=str(len(results)),
            failures=str(failures),
            errors="0",
            skipped="0",
            time=f"{seconds:.3f}",
        )
        ET.SubElement(ET.SubElement(suite, "properties"), "property", name="agent",
                      value=report.agent)  # fmt: skip
        for result in results:
            suite.append(_testcase(report, result))
        total_tests += len(results)
        total_failures += failures
        total_time += seconds
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _seconds(result: CaseResult) -> float:
    return sum(run.duration_ms for run in result.runs) / 1000


def _testcase(report: EvalReport, result: CaseResult) -> ET.Element:
    case = ET.Element(
        "testcase",
        name=result.case,
        classname=f"{report.dataset}.{result.model}",
        time=f"{_seconds(result):.3f}",
    )
    if result.passed:
        return case
    lines = []
    for number, run in enumerate(result.runs, 1):
        lines += [f"run {number}: {check.name}: {check.detail}" for check in run.failures]
    message = lines[0] if lines else "no run"
    failure = ET.SubElement(
        case, "failure", message=f"{result.tally} runs passed; {message}", type="eval"
    )
    failure.text = "\n".join(lines)
    return case
