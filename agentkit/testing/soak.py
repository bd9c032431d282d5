"""Checks for long runs of agents: each run left exactly its audit records, memory stayed flat.

A `Ledger` keeps, per agent, the audit events each run must have written (derived from
its final state by `expected_events`); `check_audit` compares a log file against it.

Example:
    >>> ledger = Ledger()
    >>> ledger.add(Counter({"run.started": 1, "run.ended": 1}))
    >>> ledger.events["run.ended"]
    1
    >>> memory_verdict([(0.0, 50.0), (60.0, 51.0)], window=30)[2]
    True
"""

from __future__ import annotations

import json
import statistics
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit.errors import AuditError, ModelError

EXECUTED = {"ok": "call.executed", "failed": "call.failed", "timed_out": "call.timed_out"}


def expected_events(run: Any, error: BaseException | None) -> Counter[str]:
    """The audit events a run must have left, derived from its final state."""
    events: Counter[str] = Counter({"run.started": 1, "model.response": run.turn})
    events["model.request"] = run.turn + (1 if isinstance(error, ModelError) else 0)
    if not isinstance(error, AuditError):
        events["run.ended"] = 1
    for step in run.steps:
        events["call.requested"] += 1
        if step.status in ("invalid", "unknown_tool"):
            events["call.invalid"] += 1
            continue
        events["call.validated"] += 1
        if step.decision is not None:
            events["call.decided"] += 1
        if step.status in EXECUTED:
            events[EXECUTED[step.status]] += 1
    return +events


@dataclass
class Ledger:
    """What the runs of one agent must have written, kept small: counts, not records."""

    per_run: array[int] = field(default_factory=lambda: array("I"))
    events: Counter[str] = field(default_factory=Counter)

    def add(self, expected: Counter[str]) -> None:
        self.per_run.append(expected.total())
        self.events.update(expected)


def check_audit(path: Path, ledger: Ledger, run_prefix: str) -> list[str]:
    """The file verifies, and holds exactly the expected records of each run, in run order."""
    from agentkit.audit import verify_file

    problems = []
    result = verify_file(path)
    if not result.ok:
        problems.append(f"{path.name}: chain broken: {result.error}")
    per_run: Counter[str] = Counter()
    events: Counter[str] = Counter()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            events[record["event"]] += 1
            per_run[str(record["fields"].get("run_id"))] += 1
    if events != ledger.events:
        diff = (events - ledger.events) + (ledger.events - events)
        problems.append(f"{path.name}: event counts differ from the runs' states: {dict(diff)}")
    for index, count in enumerate(ledger.per_run):
        found = per_run.pop(f"{run_prefix}-{index}", 0)
        if found != count:
            problems.append(
                f"{path.name}: run {run_prefix}-{index} has {found} records, not {count}"
            )
            break
    if per_run:
        problems.append(f"{path.name}: records of unknown runs: {sorted(per_run)[:3]}")
    return problems


def memory_verdict(samples: list[tuple[float, float]], window: float) -> tuple[float, float, bool]:
    """Median RSS (MB) of the first and last `window` seconds, and whether it stayed flat.

    Flat: the last window is at most 10% + 8 MB above the first (allocator noise and
    caches filling once are fine; a leak per run is not).
    """
    if not samples:
        return 0.0, 0.0, True
    start, end = samples[0][0], samples[-1][0]
    first = [rss for t, rss in samples if t - start <= window] or [samples[0][1]]
    last = [rss for t, rss in samples if end - t <= window] or [samples[-1][1]]
    a, b = statistics.median(first), statistics.median(last)
    return a, b, b <= a * 1.10 + 8.0
