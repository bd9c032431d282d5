"""Every benchmark in one run; writes docs/benchmarks.json, docs/benchmarks.md and the plot.

The last section replays AgentDojo's ground truth through the runner (tools/bench/agentdojo)
and prints its table.

python -m tools.bench.run_all [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agentkit.progress import progress
from tools.bench import (
    audit_throughput,
    concurrency,
    decision_cost,
    durable,
    imports,
    latency,
    mcp_serve,
    profile,
    redaction,
    retrieval,
    sandbox,
    serve_kill,
    serve_load,
    simulated_day,
    tracing_overhead,
)
from tools.bench import scale as scale_bench
from tools.bench.agentdojo.table import table
from tools.bench.common import REPO, machine
from tools.bench.report import write_markdown, write_plot

DOCS = REPO / "docs"


def peer_versions() -> dict[str, str]:
    """Installed versions of the packages compared."""
    from importlib.metadata import PackageNotFoundError, version

    names = (
        "agentkit",
        "openai",
        "openai-agents",
        "pydantic-ai-slim",
        "temporalio",
        "autogen-ext",
        "httpx2",
        "aiohttp",
    )
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def audit_rates(records: int) -> dict[str, Any]:
    """Chained JSONL records per second (best of 3), verify rate, and with fsync per record."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        wall, cpu = audit_throughput.best_of(3, folder, records, 1, fsync=False)
        began = time.perf_counter()
        verified = audit_throughput.verify_file(folder / "audit-False-0.jsonl")
        verify_rate = verified.records / (time.perf_counter() - began)
        fsync_wall, _ = audit_throughput.run(folder / "fsync.jsonl", 1000, 1, fsync=True)
    return {
        "records": records,
        "records_per_s": wall,
        "records_per_cpu_s": cpu,
        "verify_records_per_s": verify_rate,
        "verify_ok": verified.ok,
        "fsync_records_per_s": fsync_wall,
    }


def agentdojo_replay(quick: bool) -> dict[str, Any]:
    """AgentDojo's ground truth replayed under allow-all and the shipped policies (quick: the
    first four user tasks and three injection tasks of each suite); prints the table."""
    try:
        import agentdojo  # noqa: F401
    except ImportError:
        return {"error": "agentdojo is not installed (the [bench] extra installs it)"}
    from tools.bench.agentdojo.measure import measure

    data = measure(user_tasks=4 if quick else None, injection_tasks=3 if quick else None)
    print("\n".join(table(data)), flush=True)
    return data


def run(quick: bool) -> dict[str, Any]:
    """All sections, in order, each a stage of the progress display."""
    scale = 0.2 if quick else 1.0
    results: dict[str, Any] = {"machine": machine(), "versions": peer_versions(), "quick": quick}
    with progress("benchmarks", total=15, stream=sys.stdout) as report:
        report.stage("time per run")
        results["latency"] = latency.measure_all(
            list(latency.DEFAULT_PEERS), int(300 * scale), 30, 2 if quick else 5
        )
        report.stage("concurrency")
        peers = list(concurrency.DEFAULT_PEERS)
        results["concurrency"] = concurrency.measure_all(peers, [100], 1 if quick else 3)
        # 1,000 runs of the slowest peers take half a minute each: fewer processes
        large = concurrency.measure_all(peers, [300 if quick else 1000], 1 if quick else 2)
        results["concurrency"]["sizes"].update(large["sizes"])
        results["concurrency"]["processes"] = (
            f"{1 if quick else 3} (100 runs), {large['processes']} (1,000)"
        )
        report.stage("scale")
        results["scale"] = scale_bench.measure_all(
            [500, 1000] if quick else list(scale_bench.SIZES), 1
        )
        report.stage("service")
        results["serve"] = serve_load.measure(300 if quick else 1000)
        report.stage("workers")
        results["serve_kill"] = serve_kill.measure(2 if quick else 5)
        report.stage("durable runs")
        results["durable"] = durable.measure(quick)
        report.stage("retrieval")
        results["retrieval"] = retrieval.measure(quick)
        report.stage("redaction")
        results["redaction"] = redaction.measure(quick)
        report.stage("simulated day")
        results["simulated_day"] = simulated_day.measure(quick)
        report.stage("tracing")
        results["tracing"] = tracing_overhead.measure(quick)
        report.stage("mcp")
        results["mcp_serve"] = mcp_serve.measure(quick)
        report.stage("imports")
        results["imports"] = imports.measure_all(3 if quick else 9)
        report.stage("sandbox")
        results["sandbox"] = asyncio.run(
            sandbox.measure_all(4 if quick else 20, 10 if quick else 50)
        )
        report.stage("audit")
        results["audit"] = audit_rates(int(100_000 * scale))
        report.stage("decision cost")
        results["decision_cost"] = decision_cost.measure_all(budget_s=0.1 if quick else 0.4)
        report.stage("profiles")
        results["profile"] = profile.measure_all(int(300 * scale), 1000)
        report.stage("agentdojo replay")
        results["agentdojo"] = agentdojo_replay(quick)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs: a smoke test")
    parser.add_argument("--out", default=str(DOCS), help="folder for the three files")
    args = parser.parse_args()
    report = run(args.quick)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.json").write_text(json.dumps(report, indent=1) + "\n")
    write_plot(report, out / "benchmarks.png")
    write_markdown(report, out / "benchmarks.md")
    print(f"wrote {out / 'benchmarks.md'}, benchmarks.json and benchmarks.png")


if __name__ == "__main__":
    main()
