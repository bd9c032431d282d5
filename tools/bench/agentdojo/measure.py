"""Replay every scenario of the chosen suites under the allow-all floor and under policies.

Policies are swapped by path: `policies={"banking": "my/banking.yaml"}`; the default is
the shipped `examples/agentdojo/<suite>.yaml`. Each is loaded and checked against the
suite's tools before anything runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from agentkit.decision import AllowAll, Authoriser
from agentkit.policy import load_policy
from examples.agentdojo.toolkit import BENCHMARK_VERSION, MARKS, SUITES, suite_tools
from tools.bench.agentdojo.figures import Tally, total
from tools.bench.agentdojo.replay import replay
from tools.bench.agentdojo.scenarios import ATTACK, scenarios
from tools.bench.common import REPO

EXAMPLES = REPO / "examples" / "agentdojo"
FLOOR = "allow_all"
SHIPPED = "policies"


def default_policies() -> dict[str, Path]:
    """The shipped policy of each suite."""
    return {name: EXAMPLES / f"{name}.yaml" for name in SUITES}


def authorisers(name: str, policy: Path) -> dict[str, Authoriser]:
    """The floor and the suite's policy, checked against the suite's tools."""
    loaded = load_policy(policy)
    loaded.check_tools([t.info for t in suite_tools(name)])
    return {FLOOR: AllowAll(), SHIPPED: loaded}


async def measure_suite(
    name: str,
    policy: Path,
    *,
    user_tasks: int | None = None,
    injection_tasks: int | None = None,
) -> dict[str, Tally]:
    """Tallies of the suite under the floor and its policy (each scenario under both)."""
    tools = suite_tools(name)
    judges = authorisers(name, policy)
    side_effects = {tool: mark.side_effect for tool, mark in MARKS[name].items()}
    tallies = {key: Tally() for key in judges}
    for scenario in scenarios(name, user_tasks=user_tasks, injection_tasks=injection_tasks):
        for key, judge in judges.items():
            if not scenario.replayable:
                tallies[key].skipped += 1
                continue
            tallies[key].add(await replay(scenario, tools, judge), side_effects)
    return tallies


def measure(
    suites: Sequence[str] = SUITES,
    policies: Mapping[str, Path] | None = None,
    *,
    user_tasks: int | None = None,
    injection_tasks: int | None = None,
) -> dict[str, Any]:
    """The replay's results, ready for JSON: figures per suite and in total, per authoriser."""
    chosen = {**default_policies(), **(policies or {})}
    began = time.perf_counter()
    per_suite: dict[str, dict[str, Tally]] = {}
    for name in suites:
        print(f"  agentdojo {name}", flush=True)
        per_suite[name] = asyncio.run(
            measure_suite(
                name, chosen[name], user_tasks=user_tasks, injection_tasks=injection_tasks
            )
        )
    results: dict[str, Any] = {}
    for key in (FLOOR, SHIPPED):
        tallies = {name: per_suite[name][key] for name in suites}
        results[key] = {
            "suites": {name: t.figures() for name, t in tallies.items()},
            "total": total(tallies.values()).figures(),
        }
    return {
        "agentdojo": version("agentdojo"),
        "benchmark_version": BENCHMARK_VERSION,
        "attack": ATTACK,
        "suites": list(suites),
        "policies": {name: _shown(chosen[name]) for name in suites},
        "partial": user_tasks is not None or injection_tasks is not None,
        "seconds": round(time.perf_counter() - began, 1),
        "results": results,
    }


def _shown(path: Path) -> str:
    """A policy's path relative to the repository when it is inside it (no machine paths)."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO)) if resolved.is_relative_to(REPO) else path.name
