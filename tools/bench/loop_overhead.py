"""Time per run (prompt -> one tool call -> final text: two requests) against the fake server.

agentkit runs with validation, a policy and an audit log on; the floor is two raw httpx2
POSTs carrying the same conversation. Server and client are pinned to different CPUs, and
the measurement is repeated in several processes because one process varies by ~20%.

    python -m tools.bench.loop_overhead [--runs 400] [--processes 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.bench.common import CLIENT_CPU, REPO, fake_server, machine, pin_to, summary
from tools.bench.workload import MODEL, POLICY, PROMPT, TICKET, floor_run, httpx2_post


def make_agent(base_url: str, audit_path: Path) -> Any:
    from agentkit import Agent, Principal, tool
    from agentkit.audit import AuditLog, JsonlSink
    from agentkit.model import XAIClient
    from agentkit.policy import Policy

    class Bench(Agent):
        model = MODEL

        @tool
        async def lookup_ticket(self, ticket_id: int) -> dict[str, Any]:
            """Look up a ticket."""
            return {**TICKET, "id": ticket_id}

    return Bench(
        client=XAIClient(api_key="bench", base_url=base_url),
        policy=Policy.from_yaml(POLICY),
        audit=AuditLog(JsonlSink(audit_path)),
        principal=Principal(user_id="bench", roles=("user",)),
    )


async def measure(base_url: str, runs: int, warmup: int) -> dict[str, list[float]]:
    import httpx2

    results: dict[str, list[float]] = {"httpx2_floor": [], "agentkit": []}
    with tempfile.TemporaryDirectory() as tmp:
        agent = make_agent(base_url, Path(tmp) / "audit.jsonl")
        async with httpx2.AsyncClient() as http:
            post = httpx2_post(http)
            for index in range(warmup + runs):
                for name in ("httpx2_floor", "agentkit"):  # interleaved: same conditions
                    started = time.perf_counter()
                    if name == "agentkit":
                        result = await agent.run(PROMPT)
                        assert result.status == "completed", result.error
                    else:
                        await floor_run(post, base_url)
                    if index >= warmup:
                        results[name].append((time.perf_counter() - started) * 1000)
        await agent.client.aclose()
    return results


def child(args: argparse.Namespace) -> None:
    pin_to(CLIENT_CPU)
    samples = asyncio.run(measure(args.base_url, args.runs, args.warmup))
    print(json.dumps(samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    per_process: list[dict[str, list[float]]] = []
    with fake_server() as base_url:
        for _ in range(args.processes):
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tools.bench.loop_overhead",
                    "--child",
                    "--base-url",
                    base_url,
                    "--runs",
                    str(args.runs),
                    "--warmup",
                    str(args.warmup),
                ],
                cwd=REPO,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            per_process.append(json.loads(out))
    report = summarise(per_process)
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


def summarise(per_process: list[dict[str, list[float]]]) -> dict[str, Any]:
    names = list(per_process[0])
    report: dict[str, Any] = {"machine": machine(), "processes": len(per_process), "results": {}}
    for name in names:
        medians = [statistics.median(p[name]) for p in per_process]
        pooled = summary([x for p in per_process for x in p[name]])
        report["results"][name] = {
            **pooled,
            "median_of_process_medians_ms": statistics.median(medians),
            "process_medians_ms": medians,
        }
    floor = report["results"]["httpx2_floor"]["median_of_process_medians_ms"]
    for entry in report["results"].values():
        entry["overhead_over_floor_ms"] = entry["median_of_process_medians_ms"] - floor
        entry["ratio_to_floor"] = entry["median_of_process_medians_ms"] / floor
    return report


def print_report(report: dict[str, Any]) -> None:
    print(f"time per run: 2 requests + 1 tool, loopback, {report['processes']} processes")
    print(f"{'client':<16}{'median ms':>10}{'p90 ms':>9}{'overhead ms':>13}{'x floor':>9}")
    for name, r in report["results"].items():
        print(
            f"{name:<16}{r['median_of_process_medians_ms']:>10.3f}{r['p90_ms']:>9.3f}"
            f"{r['overhead_over_floor_ms']:>13.3f}{r['ratio_to_floor']:>9.2f}"
        )


if __name__ == "__main__":
    main()
