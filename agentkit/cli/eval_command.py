"""`agentkit eval DATASET --agent MODULE:Class`: run a dataset's cases and report.

Offline (``--offline``, or no XAI_API_KEY) every case answers from its script on the
fake xAI; online, the agent's client talks to the API. Each case's result is printed as it
is known, then the pass-rate table. Exit codes: 0 every case passed (with a comparison:
nothing regressed), 1 a case failed (with a comparison: a case regressed), 2 a usage or
dataset mistake.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import TYPE_CHECKING

from agentkit.errors import ConfigError

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.evals.compare import Comparison
    from agentkit.evals.dataset import EvalDataset
    from agentkit.evals.eval_runner import EvalOptions
    from agentkit.evals.results import EvalReport


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="run an evaluation dataset against an agent; report pass rates, flag regressions",
        description="Exit codes: 0 every case passed (comparing: no case regressed), 1 a case "
        "failed (comparing: a case regressed), 2 a usage or dataset mistake.",
    )
    parser.add_argument("dataset", metavar="DATASET.yaml", help="the cases to run")
    parser.add_argument(
        "--agent", required=True, metavar="MODULE:Class", help="the Agent subclass to evaluate"
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        help="a model to run every case on (repeatable; default: the agent's)",
    )
    parser.add_argument("--repeat", type=int, help="runs of every case per model (default: "
                        "the dataset's)")  # fmt: skip
    parser.add_argument(
        "--threshold",
        type=float,
        default=1.0,
        help="the share of a case's runs that must pass (default: 1.0, every run)",
    )
    parser.add_argument("--case", action="append", default=[], help="run only this case "
                        "(repeatable)")  # fmt: skip
    parser.add_argument(
        "--offline",
        action="store_true",
        help="answer from each case's script on the fake xAI, whatever XAI_API_KEY holds "
        "(automatic when XAI_API_KEY is unset)",
    )
    parser.add_argument("--base-url", help="API base URL online (default: https://api.x.ai/v1)")
    parser.add_argument("--report", metavar="DIR", help="write report.md, report.html and "
                        "report.json into DIR")  # fmt: skip
    parser.add_argument("--junit", metavar="PATH", help="write JUnit XML to PATH")
    parser.add_argument("--quiet", action="store_true", help="no line per case, only the table")
    compare = parser.add_mutually_exclusive_group()
    compare.add_argument(
        "--compare",
        metavar="MODULE:Class",
        help="also run this agent version and flag the cases that regress against --agent",
    )
    compare.add_argument(
        "--baseline",
        metavar="REPORT.json",
        help="flag the cases that regress against an earlier report (its report.json)",
    )
    compare.add_argument(
        "--compare-models",
        action="store_true",
        help="with two --model: flag the cases the second model does worse on than the first",
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from agentkit.cli.launch import load_agent_class
    from agentkit.evals.dataset import load_dataset
    from agentkit.evals.eval_runner import EvalOptions
    from agentkit.evals.results import EvalReport

    if args.repeat is not None and args.repeat < 1:
        raise ConfigError("--repeat must be at least 1")
    if not 0.0 < args.threshold <= 1.0:
        raise ConfigError("--threshold is a share of the runs, above 0 and at most 1")
    if args.compare_models and len(args.model) != 2:
        raise ConfigError("--compare-models needs exactly two --model (baseline, candidate)")
    dataset = load_dataset(args.dataset)
    if args.case:
        dataset = dataset.only(list(args.case))
    baseline_report = EvalReport.load(args.baseline) if args.baseline else None
    agent_cls = load_agent_class(args.agent)
    offline = args.offline or (not os.environ.get("XAI_API_KEY") and args.base_url is None)
    options = EvalOptions(
        models=list(args.model) or [None],
        offline=offline,
        repeat=args.repeat,
        threshold=args.threshold,
        base_url=args.base_url,
    )
    mode = "offline: each case answers from its script" if offline else "online: the xAI API"
    print(f"agentkit eval: {dataset.name}, {len(dataset.cases)} cases ({mode})", file=sys.stderr)

    report = _evaluate(dataset, agent_cls, options, args.quiet)
    comparison: Comparison | None = None
    if args.compare:
        candidate = _evaluate(dataset, load_agent_class(args.compare), options, args.quiet)
        comparison = _compared(report, candidate)
        report = candidate
    elif baseline_report is not None:
        comparison = _compared(baseline_report, report, baseline_name=args.baseline)
    elif args.compare_models:
        first, second = report.models
        comparison = _compared(report.for_model(first), report.for_model(second))
    _write(report, args, comparison)
    if comparison is not None:
        return 0 if comparison.ok else 1
    return 0 if report.passed else 1


def _evaluate(
    dataset: EvalDataset, agent_cls: type[Agent], options: EvalOptions, quiet: bool
) -> EvalReport:
    from agentkit.evals.eval_runner import run_dataset
    from agentkit.evals.report import case_line, render_table

    print(f"\n{agent_cls.__module__}:{agent_cls.__qualname__}")
    report = asyncio.run(
        run_dataset(
            dataset,
            agent_cls,
            options,
            on_result=None if quiet else (lambda result: print(case_line(result), flush=True)),
        )
    )
    print()
    print(render_table(report), end="")
    return report


def _compared(
    baseline: EvalReport, candidate: EvalReport, *, baseline_name: str | None = None
) -> Comparison:
    from agentkit.evals.compare import compare_reports, render_comparison

    comparison = compare_reports(baseline, candidate, baseline_name=baseline_name)
    print()
    print(render_comparison(comparison), end="")
    return comparison


def _write(report: EvalReport, args: argparse.Namespace, comparison: Comparison | None) -> None:
    from agentkit.evals.compare import render_comparison
    from agentkit.evals.report import write_junit, write_reports

    if args.report:
        written = write_reports(report, args.report)
        if comparison is not None:
            path = written[0].parent / "comparison.txt"
            path.write_text(render_comparison(comparison), encoding="utf-8")
            written.append(path)
        print(f"reports: {', '.join(str(path) for path in written)}", file=sys.stderr)
    if args.junit:
        print(f"JUnit XML: {write_junit(report, args.junit)}", file=sys.stderr)
