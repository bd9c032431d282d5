"""Concurrency: N runs started together (asyncio.gather) against a server waiting 200 ms a request.

Two requests per run, so the ideal wall time is about 400 ms whatever N is. Each peer
runs in its own child process (one CPU) against a fresh server process (the other CPU);
the server's request count proves each run made exactly two requests.

    python -m tools.bench.concurrency [--sizes 100,1000] [--processes 3] [--peers a,b]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.bench.common import CLIENT_CPU, pin_to, summary
from tools.bench.peers import PEERS
from tools.bench.server import counted_server, raise_open_files
from tools.bench.spawn import child_json

LATENCY = 0.2
DEFAULT_PEERS = (
    "raw_asyncio_floor",
    "httpx2_floor",
    "aiohttp_floor",
    "transport_floor",
    "agentkit",
    "agentkit_lean",
    "openai_sdk",
    "openai_agents",
    "pydantic_ai_chat",
    "pydantic_ai_responses",
)


def rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1e6


async def measure(peer_name: str, base_url: str, size: int) -> dict[str, Any]:
    """One warm-up run, then `size` runs at once: wall time, per-run times, memory."""
    with tempfile.TemporaryDirectory() as tmp:
        peer = await PEERS[peer_name](base_url, Path(tmp), size)
        try:
            await peer.run()
            before = rss_mb()

            async def timed() -> float:
                started = time.perf_counter()
                await peer.run()
                return (time.perf_counter() - started) * 1000

            began, cpu_began = time.perf_counter(), time.process_time()
            per_run = await asyncio.gather(*(timed() for _ in range(size)))
            wall = (time.perf_counter() - began) * 1000
            cpu = (time.process_time() - cpu_began) * 1000
            after = rss_mb()
        finally:
            await peer.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000
    return {
        "wall_ms": wall,
        "cpu_ms_per_run": cpu / size,
        "per_run_ms": list(per_run),
        "rss_before_mb": before,
        "rss_after_mb": after,
        "peak_rss_mb": peak,
    }


def run_peer(peer: str, size: int) -> dict[str, Any]:
    """One child process of `peer` against a fresh server with 200 ms latency."""
    with counted_server(latency=LATENCY) as server:
        before = server.counts()["total"]
        result: dict[str, Any] = child_json(
            "tools.bench.concurrency",
            ["--peer", peer, "--base-url", server.base_url, "--size", str(size)],
        )
        requests = server.counts()["total"] - before
    if requests != 2 * (size + 1):
        raise RuntimeError(f"{peer}: the server answered {requests} requests, not {2 * (size + 1)}")
    return result


def measure_all(peers: list[str], sizes: list[int], processes: int) -> dict[str, Any]:
    """Every peer at every size, `processes` times, rounds interleaved."""
    report: dict[str, Any] = {"latency_s": LATENCY, "processes": processes, "sizes": {}}
    for size in sizes:
        raw: dict[str, list[dict[str, Any]]] = {p: [] for p in peers}
        for round_number in range(processes):
            shift = round_number % len(peers)
            for peer in peers[shift:] + peers[:shift]:
                raw[peer].append(run_peer(peer, size))
                print(f"  concurrency {size} {peer} round {round_number + 1}", flush=True)
        report["sizes"][str(size)] = summarise(raw)
    return report


def summarise(raw: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Median wall time over processes, pooled per-run percentiles, memory, ratio to floor."""
    results: dict[str, Any] = {}
    for peer, children in raw.items():
        per_run = summary([x for c in children for x in c["per_run_ms"]])
        results[peer] = {
            "wall_ms": statistics.median(c["wall_ms"] for c in children),
            "wall_ms_each": [c["wall_ms"] for c in children],
            "per_run_p50_ms": per_run["median_ms"],
            "per_run_p99_ms": per_run["p99_ms"],
            "peak_rss_mb": statistics.median(c["peak_rss_mb"] for c in children),
            "rss_growth_mb": statistics.median(
                c["rss_after_mb"] - c["rss_before_mb"] for c in children
            ),
            "cpu_ms_per_run": statistics.median(c.get("cpu_ms_per_run", 0.0) for c in children),
            "kb_per_run_in_flight": statistics.median(
                (c["peak_rss_mb"] - c["rss_before_mb"]) * 1000 / len(c["per_run_ms"])
                for c in children
            ),
        }
    floor = results["httpx2_floor"]["wall_ms"] if "httpx2_floor" in results else None
    for entry in results.values():
        entry["ratio_to_httpx2_floor"] = entry["wall_ms"] / floor if floor else None
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--peers", default=",".join(DEFAULT_PEERS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=100, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        pin_to(CLIENT_CPU)
        raise_open_files()
        print(json.dumps(asyncio.run(measure(args.peer, args.base_url, args.size))))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    report = measure_all(args.peers.split(","), sizes, args.processes)
    for size, results in report["sizes"].items():
        for peer, r in results.items():
            print(
                f"{size:>5} {peer:<24} wall {r['wall_ms']:>7.0f} ms"
                f"  p50 {r['per_run_p50_ms']:>6.0f}"
                f"  p99 {r['per_run_p99_ms']:>6.0f}  peak {r['peak_rss_mb']:>5.0f} MB"
                + (f"  x{ratio:.2f}" if (ratio := r["ratio_to_httpx2_floor"]) else "")
            )


if __name__ == "__main__":
    main()
