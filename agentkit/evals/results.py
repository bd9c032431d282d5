"""What an evaluation found: per case and model, each run's checks; kept as JSON.

A report read back from its ``report.json`` is the baseline a later run is compared with
(`agentkit.evals.compare`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentkit.errors import ConfigError
from agentkit.state import RunResult


class CheckResult(BaseModel):
    """One expectation, checked against one run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    """What was checked (``tools``, ``arguments[0]``, ``answer.contains``, ...)."""
    passed: bool
    detail: str = ""
    """What was expected and what happened, in a line."""


class CallRecord(BaseModel):
    """One tool call of a run, as a report shows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str
    arguments: dict[str, Any] | None = None
    status: str
    action: str | None = None
    rule: str | None = None

    def label(self) -> str:
        """``tool {"arg": 1} -> status (rule)``: one line a diff compares."""
        shown = json.dumps(self.arguments, sort_keys=True) if self.arguments is not None else "?"
        rule = f" ({self.rule})" if self.rule else ""
        return f"{self.tool} {shown} -> {self.status}{rule}"


class RunRecord(BaseModel):
    """One run of one case, and its checks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: str
    checks: list[CheckResult] = Field(default_factory=list)
    calls: list[CallRecord] = Field(default_factory=list)
    answer: str | None = None
    model_requests: int = 0
    error: str | None = None
    duration_ms: float = 0.0

    @property
    def passed(self) -> bool:
        """Every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        """The checks that failed."""
        return [check for check in self.checks if not check.passed]

    @classmethod
    def of(
        cls, run: RunResult, checks: list[CheckResult], *, error: str | None, duration_ms: float
    ) -> RunRecord:
        """The record of `run`, checked."""
        calls = [
            CallRecord(
                tool=step.tool,
                arguments=step.arguments,
                status=step.status,
                action=step.decision.action if step.decision else None,
                rule=step.decision.rule if step.decision else None,
            )
            for step in run.steps
        ]
        return cls(
            status=run.status,
            checks=checks,
            calls=calls,
            answer=run.output,
            model_requests=run.totals.requests,
            error=error,
            duration_ms=round(duration_ms, 1),
        )


class CaseResult(BaseModel):
    """Every run of one case on one model."""

    model_config = ConfigDict(extra="forbid")

    case: str
    model: str
    runs: list[RunRecord] = Field(default_factory=list)
    threshold: float = 1.0
    """The share of runs that must pass for the case to pass."""

    @property
    def passes(self) -> int:
        """How many runs passed."""
        return sum(1 for run in self.runs if run.passed)

    @property
    def pass_rate(self) -> float:
        """The share of runs that passed (0 to 1)."""
        return self.passes / len(self.runs) if self.runs else 0.0

    @property
    def passed(self) -> bool:
        """At least `threshold` of the runs passed."""
        return bool(self.runs) and self.pass_rate >= self.threshold - 1e-9

    @property
    def tally(self) -> str:
        """``passes/runs``."""
        return f"{self.passes}/{len(self.runs)}"

    def failing_checks(self) -> list[str]:
        """The names of checks that failed in any run, once each, in order."""
        names: list[str] = []
        for run in self.runs:
            names += [c.name for c in run.failures if c.name not in names]
        return names


class EvalReport(BaseModel):
    """The results of one dataset run by one agent on one or more models."""

    model_config = ConfigDict(extra="forbid")

    dataset: str
    agent: str
    mode: str
    """``offline`` (the scripted fake model) or ``online`` (the xAI API)."""
    models: list[str] = Field(default_factory=list)
    results: list[CaseResult] = Field(default_factory=list)
    started_at: float = 0.0
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        """Every case passed on every model."""
        return all(result.passed for result in self.results)

    @property
    def failed(self) -> list[CaseResult]:
        """The case results that did not pass."""
        return [result for result in self.results if not result.passed]

    def result(self, case: str, model: str) -> CaseResult | None:
        """The result of `case` on `model`, if it ran."""
        for result in self.results:
            if result.case == case and result.model == model:
                return result
        return None

    def for_model(self, model: str) -> EvalReport:
        """The part of this report that ran on `model`."""
        kept = [r for r in self.results if r.model == model]
        return self.model_copy(update={"models": [model], "results": kept})

    def save(self, path: str | Path) -> Path:
        """Write this report as JSON to `path`."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> EvalReport:
        """A report from the JSON `save` wrote.

        Raises:
            ConfigError: the file cannot be read or is not a report.
        """
        try:
            return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the report {path}: {exc}") from exc
        except ValidationError as exc:
            raise ConfigError(f"{path} is not an eval report: {exc.errors()[0]['msg']}") from None
