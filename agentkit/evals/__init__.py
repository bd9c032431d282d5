"""Evaluations: run a dataset of cases against an agent, on one or more models, and report.

A case gives the agent a prompt (and, optionally, an earlier conversation, a principal
and fixtures), says how approvals are answered, and what the run must show: the tools
called and in what order, their arguments, what the policy did to them, the final
answer, and what the run spent. Offline every case answers from its script on the fake
xAI (`agentkit.testing`); online from the API, judged by the same expectations. Reports
come as a terminal table, Markdown, HTML, JSON and JUnit XML; two reports compare into
the cases that regressed (`compare_reports`).

Why not pydantic-evals: its task is ``inputs -> output``, and its evaluators of what an
agent did read OpenTelemetry spans (through logfire). Here a run already is structured
data, a `RunResult` whose steps carry each call's arguments, the policy's decision and
rule, and what a person said; checking those directly is shorter and exact, and needs no
span pipeline or extra dependency. The dataset's shape stays close to pydantic-evals'
(``name``, ``cases: [{name, inputs, expected, ...}]``) so it reads familiar.

Example:
    >>> from agentkit.evals import EvalOptions, load_dataset, run_dataset
    >>> dataset = load_dataset("examples/evals/ops_copilot.yaml")  # doctest: +SKIP
    >>> report = await run_dataset(dataset, OpsCopilot, EvalOptions())  # doctest: +SKIP
"""

from __future__ import annotations

from agentkit.evals.checks import check_run, outcomes
from agentkit.evals.compare import Comparison, Regression, compare_reports, render_comparison
from agentkit.evals.dataset import (
    AnswerExpectation,
    ArgumentExpectation,
    CaseInputs,
    EvalBudget,
    EvalCase,
    EvalDataset,
    Expectations,
    Fixtures,
    Message,
    PolicyExpectation,
    ToolsExpectation,
    dataset_from_data,
    load_dataset,
)
from agentkit.evals.eval_runner import EvalOptions, run_case, run_dataset
from agentkit.evals.junit import junit_xml
from agentkit.evals.report import (
    render_html,
    render_markdown,
    render_table,
    write_junit,
    write_reports,
)
from agentkit.evals.results import CallRecord, CaseResult, CheckResult, EvalReport, RunRecord

__all__ = [
    "AnswerExpectation",
    "ArgumentExpectation",
    "CallRecord",
    "CaseInputs",
    "CaseResult",
    "CheckResult",
    "Comparison",
    "EvalBudget",
    "EvalCase",
    "EvalDataset",
    "EvalOptions",
    "EvalReport",
    "Expectations",
    "Fixtures",
    "Message",
    "PolicyExpectation",
    "Regression",
    "RunRecord",
    "ToolsExpectation",
    "check_run",
    "compare_reports",
    "dataset_from_data",
    "junit_xml",
    "load_dataset",
    "outcomes",
    "render_comparison",
    "render_html",
    "render_markdown",
    "render_table",
    "run_case",
    "run_dataset",
    "write_junit",
    "write_reports",
]
