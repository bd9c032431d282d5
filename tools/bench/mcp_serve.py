"""What agentkit's safety layer adds to an MCP call: the same tool over stdio, served by a
plain MCP SDK server and by `agentkit mcp serve` (schema check, the policy's decision with
the caller's recent calls in view, output labelling, and a hash-chained audit record of
every stage, written to a JSONL file).

One SDK client per server, each server its own process; the calls take turns in blocks
of 25 (the order rotated each time). Times are wall-clock per call, as the client sees
it. A denied call is timed too: the policy answers, and the tool never runs.

    python -m tools.bench.mcp_serve [--quick]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.bench.common import REPO, section_main

CALLS = {True: 200, False: 2_000}
WARMUP = 50
BLOCK = 25


async def _measure(calls: int) -> dict[str, Any]:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    with tempfile.TemporaryDirectory() as tmp:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "AGENTKIT_SEAL_KEY": "5e" * 32}
        plain = StdioServerParameters(command=sys.executable, args=["-m", "tools.bench.mcp_desk"],
                                      env=env, cwd=str(REPO))  # fmt: skip
        serve = ["-m", "agentkit", "mcp", "serve", "tools.bench.mcp_desk:Desk", "--user",
                 "bench", "--store", str(Path(tmp) / "approvals.db"),
                 "--audit", str(Path(tmp) / "audit.jsonl"),
                 # room for every call: each decision sees all the calls made before it
                 "--history-calls", str(2 * (calls + WARMUP))]  # fmt: skip
        guarded = StdioServerParameters(command=sys.executable, args=serve, env=env,
                                        cwd=str(REPO))  # fmt: skip
        async with Client(plain) as plain_client, Client(guarded) as guarded_client:
            ways = {
                "plain MCP server": (plain_client, "lookup", {"ticket": 7}),
                "agentkit mcp serve, allowed": (guarded_client, "lookup", {"ticket": 7}),
                "agentkit mcp serve, denied": (guarded_client, "drop_table", {"name": "t"}),
            }
            for client, name, arguments in ways.values():
                for _ in range(WARMUP):
                    await client.call_tool(name, arguments)
            times: dict[str, list[float]] = {way: [] for way in ways}
            order = list(ways)
            for _ in range(calls // BLOCK):
                order = order[1:] + order[:1]
                for way in order:
                    client, name, arguments = ways[way]
                    for _ in range(BLOCK):
                        started = time.perf_counter()
                        result = await client.call_tool(name, arguments)
                        times[way].append((time.perf_counter() - started) * 1000)
                        assert bool(result.is_error) == way.endswith("denied"), result
    medians = {way: statistics.median(samples) for way, samples in times.items()}
    base = medians["plain MCP server"]
    return {
        "calls": calls,
        "history": 2 * (calls + WARMUP),
        "median_ms": {way: round(value, 3) for way, value in medians.items()},
        "over_plain_ms": {way: round(value - base, 3) for way, value in medians.items()},
        "ratio": {way: round(value / base, 2) for way, value in medians.items()},
    }


def measure(quick: bool = False) -> dict[str, Any]:
    """Median wall time per MCP call, plain and guarded, and the difference."""
    return asyncio.run(_measure(CALLS[quick]))


def section(data: dict[str, Any]) -> list[str]:
    """Markdown lines of `measure`'s result."""
    allowed = data["over_plain_ms"]["agentkit mcp serve, allowed"]
    in_view = data.get("history", 0)
    lines = [
        "## 2j. A guarded MCP call",
        "",
        f"{data['calls']:,} calls each way over stdio from the MCP SDK's client, in "
        "alternating blocks of 25: the same tool behind a plain SDK server and behind "
        "`agentkit mcp serve`, which validates each call, decides it by the policy with "
        f"the caller's recent calls in view (up to {in_view:,} by the end, four times the "
        "default cap), labels the output and writes six chained audit records. The "
        f"safety layer adds {allowed:.2f} ms to an allowed call.",
        "",
        "| server | median ms per call | over plain | ratio |",
        "|---|---:|---:|---:|",
    ]
    for way, value in data["median_ms"].items():
        lines.append(f"| {way} | {value:.3f} | {data['over_plain_ms'][way]:+.3f} | "
                     f"{data['ratio'][way]:.2f}x |")  # fmt: skip
    lines.append("")
    return lines


if __name__ == "__main__":
    section_main(__doc__, "fewer calls: a smoke test", measure, section)
