"""Cost per run at scale: 1,000 to 10,000 runs at once, agentkit beside the raw floors.

Past a few hundred runs the client CPU is the bottleneck, so wall time is CPU time; the
section prints wall time, CPU per run and memory per run in flight (peak RSS over the
RSS before the burst, divided by the runs) against the raw asyncio and raw aiohttp
floors measured in the same run, and whether the ratio grows with the size.

    python -m tools.bench.scale [--sizes 1000,5000,10000] [--processes 1]
"""

from __future__ import annotations

import argparse
from typing import Any

from tools.bench import concurrency
from tools.bench.peers import LABELS

PEERS = ("raw_asyncio_floor", "aiohttp_floor", "agentkit", "agentkit_lean")
SIZES = (1000, 5000, 10000)
TARGET_WALL_RATIO = 1.25
"""agentkit's wall time at most this times the raw floor's, at every size."""
TARGET_MEMORY_RATIO = 1.5
"""agentkit's memory per run in flight at most this times the floor's."""
FLOOR = "raw_asyncio_floor"


def measure_all(sizes: list[int], processes: int) -> dict[str, Any]:
    """Every peer at every size (rounds interleaved), as the concurrency benchmark runs them."""
    return concurrency.measure_all(list(PEERS), sizes, processes)


def section(data: dict[str, Any]) -> list[str]:
    """The Markdown section: one table over the sizes, the targets and the growth."""
    lines = [
        "## 2b. Cost per run at scale: N runs at once, server waits 200 ms per request",
        "",
        "One client CPU, the server on the other; the floors are two raw requests per run "
        "(hand-written HTTP/1.1 on asyncio streams; aiohttp). CPU per run is the client's "
        "whole CPU time over the burst divided by the runs; memory per run is peak RSS "
        f"over the RSS before the burst, per run in flight. Median of {data['processes']} "
        "process(es).",
        "",
        "| runs | client | wall ms | x raw floor | CPU ms/run | KB/run in flight |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    ratios: list[float] = []
    memory: list[float] = []
    for size, results in data["sizes"].items():
        floor = results[FLOOR]
        for name in PEERS:
            if name not in results:
                continue
            r = results[name]
            lines.append(
                f"| {int(size):,} | {LABELS[name]} | {r['wall_ms']:.0f} | "
                f"{r['wall_ms'] / floor['wall_ms']:.2f} | {r['cpu_ms_per_run']:.2f} | "
                f"{r['kb_per_run_in_flight']:.1f} |"
            )
        ratios.append(results["agentkit"]["wall_ms"] / floor["wall_ms"])
        memory.append(
            results["agentkit"]["kb_per_run_in_flight"] / max(floor["kb_per_run_in_flight"], 1e-9)
        )
    worst = max(ratios)
    growing = len(ratios) > 1 and ratios[-1] > ratios[0] * 1.1
    lines += [
        "",
        f"Target (agentkit within {TARGET_WALL_RATIO} x the raw floor at every size): worst "
        f"{worst:.2f} x ({', '.join(f'{r:.2f}' for r in ratios)}), "
        f"{'met' if worst <= TARGET_WALL_RATIO else '**missed**'}. The ratio "
        f"{'**grows**' if growing else 'does not grow'} with the size.",
        f"Target (memory per run in flight within {TARGET_MEMORY_RATIO} x the floor's): worst "
        f"{max(memory):.2f} x, "
        f"{'met' if max(memory) <= TARGET_MEMORY_RATIO else '**missed**'}.",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    data = measure_all([int(s) for s in args.sizes.split(",")], args.processes)
    print("\n".join(section(data)))


if __name__ == "__main__":
    main()
