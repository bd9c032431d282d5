"""Two reports side by side: which cases got worse, and how, as a readable diff.

The baseline is the known-good side (an earlier report, the agent version in production,
the current model); the candidate is what is tried. A case regresses when its pass rate
on a model drops: a case that passed 5 of 5 runs and now passes 4 of 5 regressed. The
diff shows the candidate's failing checks (expected what, got what), then the tool calls
of a passing baseline run against a failing candidate run, line by line.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from agentkit.errors import ConfigError
from agentkit.evals.results import CaseResult, EvalReport, RunRecord


@dataclass(frozen=True)
class Regression:
    """A case whose pass rate dropped from the baseline to the candidate."""

    case: str
    model: str
    baseline: CaseResult
    candidate: CaseResult


@dataclass
class Comparison:
    """What changed from `baseline` to `candidate`."""

    baseline: str
    candidate: str
    regressions: list[Regression] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    """``case [model]`` whose pass rate rose."""
    unchanged: int = 0
    missing: list[str] = field(default_factory=list)
    """``case [model]`` the baseline ran and the candidate did not."""

    @property
    def ok(self) -> bool:
        """No case regressed."""
        return not self.regressions


def compare_reports(
    baseline: EvalReport,
    candidate: EvalReport,
    *,
    baseline_name: str | None = None,
    candidate_name: str | None = None,
) -> Comparison:
    """Compare two reports case by case, on the same model, or across models when each
    report ran one model (a comparison of two models).

    Raises:
        ConfigError: the reports ran different models and more than one each.
    """
    same_models = set(baseline.models) == set(candidate.models)
    if not same_models and (len(baseline.models) != 1 or len(candidate.models) != 1):
        raise ConfigError(
            f"cannot compare runs of models {baseline.models} with runs of {candidate.models}: "
            "compare the same models, or one model with one other"
        )
    comparison = Comparison(
        baseline=baseline_name or _name(baseline), candidate=candidate_name or _name(candidate)
    )
    for before in baseline.results:
        model = before.model if same_models else candidate.models[0]
        after = candidate.result(before.case, model)
        label = f"{before.case} [{model}]"
        if after is None:
            comparison.missing.append(label)
        elif after.pass_rate < before.pass_rate - 1e-9:
            comparison.regressions.append(Regression(before.case, model, before, after))
        elif after.pass_rate > before.pass_rate + 1e-9:
            comparison.fixed.append(label)
        else:
            comparison.unchanged += 1
    return comparison


def _name(report: EvalReport) -> str:
    return f"{report.agent} on {', '.join(report.models)}"


def render_comparison(comparison: Comparison) -> str:
    """The comparison as text: a verdict, then each regression's diff."""
    lines = [f"baseline:  {comparison.baseline}", f"candidate: {comparison.candidate}", ""]
    for regression in comparison.regressions:
        lines += regression_diff(regression)
        lines.append("")
    for label in comparison.fixed:
        lines.append(f"FIXED      {label}")
    for label in comparison.missing:
        lines.append(f"MISSING    {label} (not run by the candidate)")
    count = len(comparison.regressions)
    verdict = f"{count} regression{'s' if count != 1 else ''}" if count else "no regressions"
    lines.append(f"{verdict}; {len(comparison.fixed)} fixed, {comparison.unchanged} unchanged")
    return "\n".join(lines).lstrip("\n") + "\n"


def regression_diff(regression: Regression) -> list[str]:
    """Lines that show how one case regressed."""
    before, after = regression.baseline, regression.candidate
    lines = [
        f"REGRESSION {regression.case} [{regression.model}]: passed {before.tally} -> {after.tally}"
    ]
    failing = next((run for run in after.runs if not run.passed), None)
    if failing is None:
        return lines
    for check in failing.failures:
        lines.append(f"  {check.name}: {check.detail}" if check.detail else f"  {check.name}")
    passing = next(
        (run for run in before.runs if run.passed), before.runs[0] if before.runs else None
    )
    lines += _calls_diff(passing, failing)
    return lines


def _calls_diff(before: RunRecord | None, after: RunRecord) -> list[str]:
    old = [call.label() for call in before.calls] if before is not None else []
    new = [call.label() for call in after.calls]
    if old == new:
        return []
    lines = ["  tool calls (- baseline, + candidate):"]
    for line in difflib.ndiff(old, new):
        if line.startswith(("- ", "+ ", "  ")):
            lines.append(f"    {line}")
    return lines
