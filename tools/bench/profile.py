"""Where agentkit's time goes: pyinstrument over the time-per-run and concurrency benchmarks.

Self time is summed per function over the whole profile, beside the same profiles of the
aiohttp and httpx2 floors, so what agentkit adds above the HTTP libraries stands out.

    python -m tools.bench.profile [--runs 300] [--size 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from tools.bench.common import CLIENT_CPU, pin_to
from tools.bench.peers import PEERS
from tools.bench.server import counted_server, raise_open_files
from tools.bench.spawn import child_json

TOP = 15


def self_times(frame: Any, totals: Counter[str]) -> None:
    """Add each frame's own time (not its children's) to its function's total."""
    where = f"{frame.function} ({Path(frame.file_path or '?').name}:{frame.line_no})"
    totals[where] += _own(frame)
    for child in frame.children:
        if not child.is_synthetic:
            self_times(child, totals)


def _own(frame: Any) -> float:
    """Seconds spent in the frame itself (pyinstrument keeps it in synthetic children)."""
    return float(sum(c.time for c in frame.children if c.is_synthetic))


def by_package(totals: Counter[str], frame: Any) -> Counter[str]:
    """Total self time grouped by top-level package of the file."""
    grouped: Counter[str] = Counter()

    def walk(node: Any) -> None:
        grouped[_package(node.file_path or "")] += _own(node)
        for child in node.children:
            if not child.is_synthetic:
                walk(child)

    walk(frame)
    return grouped


def _package(path: str) -> str:
    for marker in ("site-packages/", "/agentkit/", "/lib/python3."):
        if marker in path:
            rest = path.split(marker, 1)[1]
            if marker == "/agentkit/":
                return "agentkit." + rest.split("/", 1)[0].removesuffix(".py")
            if marker == "/lib/python3.":
                return "stdlib"
            return rest.split("/", 1)[0]
    return "other"


async def profile(peer_name: str, base_url: str, runs: int, size: int) -> dict[str, Any]:
    """Profile `runs` sequential runs, or `size` runs at once when size > 0."""
    from pyinstrument import Profiler

    with tempfile.TemporaryDirectory() as tmp:
        peer = await PEERS[peer_name](base_url, Path(tmp), max(size, 10))
        try:
            await peer.run()
            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
            if size:
                await asyncio.gather(*(peer.run() for _ in range(size)))
            else:
                for _ in range(runs):
                    await peer.run()
            session = profiler.stop()
        finally:
            await peer.close()
    root = session.root_frame()
    totals: Counter[str] = Counter()
    self_times(root, totals)
    count = size or runs
    return {
        "duration_s": session.duration,
        "ms_per_run": session.duration * 1000 / count,
        "top_functions_ms_per_run": [
            (name, seconds * 1000 / count) for name, seconds in totals.most_common(TOP)
        ],
        "packages_ms_per_run": {
            name: seconds * 1000 / count
            for name, seconds in by_package(totals, root).most_common(12)
        },
    }


def run_child(peer: str, runs: int, size: int) -> dict[str, Any]:
    """Profile `peer` in a child process against a fresh server."""
    latency = 0.2 if size else 0.0
    with counted_server(latency=latency) as server:
        result: dict[str, Any] = child_json(
            "tools.bench.profile",
            [
                "--peer",
                peer,
                "--base-url",
                server.base_url,
                "--runs",
                str(runs),
                "--size",
                str(size),
            ],
        )
    return result


def measure_all(runs: int, size: int) -> dict[str, Any]:
    """agentkit and the aiohttp and httpx2 floors, sequential and concurrent."""
    return {
        f"{mode}/{peer}": run_child(peer, runs, 0 if mode == "sequential" else size)
        for mode in ("sequential", f"concurrent_{size}")
        for peer in ("agentkit", "aiohttp_floor", "httpx2_floor")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        pin_to(CLIENT_CPU)
        raise_open_files()
        print(json.dumps(asyncio.run(profile(args.peer, args.base_url, args.runs, args.size))))
        return
    print(json.dumps(measure_all(args.runs, args.size), indent=2))


if __name__ == "__main__":
    main()
