"""An `EvalReport` for people: a terminal table, Markdown, HTML; and the files of a report
folder (``report.md``, ``report.html``, ``report.json``, beside a JUnit file if asked)."""

from __future__ import annotations

import html
from pathlib import Path

from agentkit.evals.junit import junit_xml
from agentkit.evals.results import CaseResult, EvalReport

_DETAIL_LIMIT = 160


def verdict(result: CaseResult) -> str:
    """``PASS`` or ``FAIL``."""
    return "PASS" if result.passed else "FAIL"


def case_line(result: CaseResult) -> str:
    """One line on a case's result, as it is printed while the evaluation runs."""
    line = f"{verdict(result)}  {result.case}  [{result.model}]  {result.tally}"
    failing = _first_failure(result)
    return f"{line}  {failing}" if failing else line


def _first_failure(result: CaseResult) -> str:
    for run in result.runs:
        for check in run.failures:
            return _short(f"{check.name}: {check.detail}" if check.detail else check.name)
    return ""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 3] + "..."


def summary(report: EvalReport) -> str:
    """``5/6 case results passed (offline, 2 models)``."""
    passed = len(report.results) - len(report.failed)
    models = f"{len(report.models)} model{'s' if len(report.models) != 1 else ''}"
    return f"{passed}/{len(report.results)} case results passed ({report.mode}, {models})"


def pass_rates(report: EvalReport) -> tuple[list[str], list[list[str]]]:
    """The table of pass rates: a row per case, a column per model (``passes/runs``)."""
    header = ["case", *report.models]
    rows = []
    cases = list(dict.fromkeys(result.case for result in report.results))
    for case in cases:
        row = [case]
        for model in report.models:
            found = report.result(case, model)
            row.append("-" if found is None else f"{verdict(found)} {found.tally}")
        rows.append(row)
    return header, rows


def render_table(report: EvalReport) -> str:
    """The pass rates as a plain-text table, and the summary line."""
    header, rows = pass_rates(report)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    rule = "  ".join("-" * width for width in widths)
    body = [line(header).rstrip(), rule, *(line(row).rstrip() for row in rows)]
    return "\n".join([*body, "", summary(report)]) + "\n"


def render_markdown(report: EvalReport) -> str:
    """The report as Markdown: the pass-rate table, then every failing check."""
    header, rows = pass_rates(report)
    lines = [
        f"# Evaluation: {report.dataset}",
        "",
        f"Agent `{report.agent}`, {report.mode}. {summary(report)}.",
        "",
        "| " + " | ".join(_md(cell) for cell in header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows),
    ]
    if report.failed:
        lines += ["", "## Failures", ""]
        for result in report.failed:
            lines += [f"### {_md(result.case)} [{_md(result.model)}]: {result.tally}", ""]
            for number, run in enumerate(result.runs, 1):
                for check in run.failures:
                    lines.append(f"- run {number}: **{_md(check.name)}**: {_md(check.detail)}")
                if run.failures:
                    tools = ", ".join(call.tool for call in run.calls) or "no tool"
                    lines.append(f"- run {number}: called {_md(tools)}; status {run.status}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_html(report: EvalReport) -> str:
    """The report as one self-contained HTML page."""
    header, rows = pass_rates(report)
    e = html.escape

    def cell(text: str) -> str:
        kind = "pass" if text.startswith("PASS") else "fail" if text.startswith("FAIL") else ""
        return f'<td class="{kind}">{e(text)}</td>'

    table = [
        "<table>",
        "<tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>",
        *(f"<tr><td>{e(row[0])}</td>" + "".join(map(cell, row[1:])) + "</tr>" for row in rows),
        "</table>",
    ]
    failures = []
    for result in report.failed:
        failures.append(f"<h3>{e(result.case)} [{e(result.model)}]: {e(result.tally)}</h3><ul>")
        for number, run in enumerate(result.runs, 1):
            for check in run.failures:
                failures.append(f"<li>run {number}: <b>{e(check.name)}</b>: {e(check.detail)}</li>")
        failures.append("</ul>")
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
        ".pass{background:#e6f4ea}.fail{background:#fce8e6}"
    )
    title = f"Evaluation: {report.dataset}"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>',
        f"<style>{style}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>Agent <code>{e(report.agent)}</code>, {e(report.mode)}. {e(summary(report))}.</p>",
        *table,
        *(["<h2>Failures</h2>", *failures] if failures else []),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_reports(report: EvalReport, folder: str | Path) -> list[Path]:
    """Write ``report.md``, ``report.html`` and ``report.json`` into `folder`."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = [report.save(target / "report.json")]
    for name, text in (
        ("report.md", render_markdown(report)),
        ("report.html", render_html(report)),
    ):
        path = target / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def write_junit(report: EvalReport, path: str | Path) -> Path:
    """Write the report as JUnit XML to `path`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(junit_xml(report), encoding="utf-8")
    return target
