"""Time per run of every peer: prompt -> one tool call -> final text (two requests, one tool).

Each peer runs in its own child process (pinned to one CPU) against a fresh fake xAI
server process (pinned to the other), which counts the requests it answered: every run
must have made exactly two. Rounds interleave the peers and repeat in several processes,
because a single process varies by about 20%.

    python -m tools.bench.latency [--runs 300] [--processes 3] [--peers a,b]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.bench.common import CLIENT_CPU, pin_to, summary
from tools.bench.peers import PEERS
from tools.bench.server import counted_server
from tools.bench.spawn import child_json

DEFAULT_PEERS = (
    "httpx2_floor",
    "raw_asyncio_floor",
    "aiohttp_floor",
    "transport_floor",
    "agentkit",
    "agentkit_lean",
    "openai_sdk",
    "openai_agents",
    "pydantic_ai_chat",
    "pydantic_ai_responses",
)


async def measure(peer_name: str, base_url: str, runs: int, warmup: int) -> dict[str, Any]:
    """Milliseconds of each timed run, after `warmup` untimed ones, and client CPU per run.

    CPU time counts only this process's own work (not the server's, not waiting), so it
    varies far less than wall time on a machine that other jobs share.
    """
    samples: list[float] = []
    cpu_started = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        peer = await PEERS[peer_name](base_url, Path(tmp), 10)
        try:
            for index in range(warmup + runs):
                if index == warmup:
                    cpu_started = time.process_time()
                started = time.perf_counter()
                await peer.run()
                if index >= warmup:
                    samples.append((time.perf_counter() - started) * 1000)
            cpu_ms = (time.process_time() - cpu_started) * 1000 / max(runs, 1)
        finally:
            await peer.close()
    return {"samples_ms": samples, "cpu_ms_per_run": cpu_ms}


def run_peer(peer: str, runs: int, warmup: int) -> dict[str, Any]:
    """One child process of `peer` against a fresh server; its samples and request count."""
    with counted_server() as server:
        before = server.counts()["total"]
        child = child_json(
            "tools.bench.latency",
            [
                "--peer",
                peer,
                "--base-url",
                server.base_url,
                "--runs",
                str(runs),
                "--warmup",
                str(warmup),
            ],
        )
        requests = server.counts()["total"] - before
    expected = 2 * (runs + warmup)
    if requests != expected:
        raise RuntimeError(f"{peer}: the server answered {requests} requests, not {expected}")
    return {**child, "requests": requests, "runs": runs + warmup}


def measure_all(peers: list[str], runs: int, warmup: int, processes: int) -> dict[str, Any]:
    """Every peer, `processes` times, rounds interleaved; summaries with ratios to the floor."""
    raw: dict[str, list[dict[str, Any]]] = {p: [] for p in peers}
    for round_number in range(processes):
        order = peers[round_number % len(peers) :] + peers[: round_number % len(peers)]
        for peer in order:
            raw[peer].append(run_peer(peer, runs, warmup))
            print(f"  latency {peer} round {round_number + 1}/{processes}", flush=True)
    return summarise(raw)


def summarise(raw: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Pooled percentiles, the median of process medians, overhead and ratio to the floor."""
    results: dict[str, Any] = {}
    for peer, children in raw.items():
        medians = [statistics.median(c["samples_ms"]) for c in children]
        pooled = summary([x for c in children for x in c["samples_ms"]])
        results[peer] = {
            **pooled,
            "median_of_process_medians_ms": statistics.median(medians),
            "cpu_ms_per_run": statistics.median(c["cpu_ms_per_run"] for c in children),
            "process_medians_ms": medians,
            "requests_per_run": sum(c["requests"] for c in children)
            / sum(c["runs"] for c in children),
            "samples_ms": [x for c in children for x in c["samples_ms"]],
        }
    floor = results["httpx2_floor"]["median_of_process_medians_ms"]
    for entry in results.values():
        entry["overhead_over_floor_ms"] = entry["median_of_process_medians_ms"] - floor
        entry["ratio_to_floor"] = entry["median_of_process_medians_ms"] / floor
    return {"processes": len(next(iter(raw.values()))), "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--peers", default=",".join(DEFAULT_PEERS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        pin_to(CLIENT_CPU)
        print(json.dumps(asyncio.run(measure(args.peer, args.base_url, args.runs, args.warmup))))
        return
    report = measure_all(args.peers.split(","), args.runs, args.warmup, args.processes)
    for peer, r in report["results"].items():
        print(
            f"{peer:<24}{r['median_of_process_medians_ms']:>8.2f} ms  p90 {r['p90_ms']:>7.2f}"
            f"  +{r['overhead_over_floor_ms']:>6.2f} ms  x{r['ratio_to_floor']:.2f}"
            f"  cpu {r['cpu_ms_per_run']:>6.2f} ms"
        )


if __name__ == "__main__":
    main()
