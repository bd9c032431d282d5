"""What tracing costs a run: telemetry off, on with no SDK (what every deployment without
OpenTelemetry gets: the runner sees no provider and skips even the API's no-ops), and on
with the SDK exporting to memory.

A run is a prompt, a turn asking for two calls (one allowed, one denied by the policy),
and a final answer: three model requests, answered in-process by the fake server, so the
run's own work is all there is to time and the ratio is the worst case (over a network,
the same spans are a smaller share). A fourth way, an SDK whose sampler drops every trace,
times agentkit's own span and measurement code with nothing exported.

The ways take turns in blocks of 20 runs (the order rotated each time, a garbage
collection before each block), on one agent whose runner's telemetry settings are swapped
between blocks, so nothing else differs; times are the thread's CPU time, and each way's
median is compared with telemetry off's. "Off" runs twice, to show the noise.

    python -m tools.bench.tracing_overhead [--quick]
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.bench.common import section_main

RUNS = {True: 300, False: 2_000}
WARMUP = 50
BLOCK = 20
POLICY = """
version: 1
roles:
  ops: {}
tools:
  lookup: {action: allow}
  drop_table: {action: deny}
"""


def _setup(policy: Path) -> dict[str, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from agentkit import Agent, Principal, tool
    from agentkit.telemetry import TelemetrySettings
    from agentkit.testing import Turn, scripted_client

    class Ops(Agent):
        @tool
        async def lookup(self, ticket: int) -> str:
            """Read a ticket."""
            return f"ticket {ticket}: open"

        @tool(side_effect="destructive")
        async def drop_table(self, name: str) -> str:
            """Drop a table."""
            return "dropped"

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    dropped = TracerProvider(sampler=ALWAYS_OFF)
    ways = {
        "off": TelemetrySettings(enabled=False),
        "off, again (the noise)": TelemetrySettings(enabled=False),
        "no-op (no SDK)": TelemetrySettings(),
        "SDK, sampled out": TelemetrySettings(
            tracer_provider=dropped, meter_provider=MeterProvider(metric_readers=[])
        ),
        "SDK, to memory": TelemetrySettings(
            tracer_provider=tracer_provider, meter_provider=meter_provider
        ),
    }

    def turns(body: dict[str, Any]) -> Turn:
        answered = sum(1 for item in body.get("input") or [] if isinstance(item, dict)
                       and item.get("type") == "function_call_output")  # fmt: skip
        if answered:
            return Turn.text("ticket 7 is open; the table stays")
        return Turn.calls([("lookup", {"ticket": 7}), ("drop_table", {"name": "tickets"})])

    agent = Ops(client=scripted_client(turns), policy=str(policy), audit=None,
                principal=Principal(user_id="bench", roles=("ops",)))  # fmt: skip
    return {"agent": agent, "ways": ways, "exporter": exporter}


async def _measure(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "policy.yaml"
        policy.write_text(POLICY)
        made = _setup(policy)
        agent, ways, exporter = made["agent"], made["ways"], made["exporter"]
        runner = agent.runner

        def use(name: str) -> None:  # one agent, one runner: only the telemetry differs
            runner.telemetry = ways[name]
            runner._telemetry_parts = None

        for name in ways:
            use(name)
            for _ in range(WARMUP):
                await agent.run("look ticket 7 up, then drop the table")
        agents = ways
        times: dict[str, list[float]] = {name: [] for name in agents}
        order = list(agents)
        for _ in range(runs // BLOCK):
            order = order[1:] + order[:1]  # each way takes each place in turn
            for name in order:
                use(name)
                gc.collect()  # a block starts without the garbage of the one before
                samples = []
                for _ in range(BLOCK):
                    started = time.thread_time()
                    result = await agent.run("look ticket 7 up, then drop the table")
                    samples.append((time.thread_time() - started) * 1e6)
                    assert result.status == "completed"
                exporter.clear()
                times[name].extend(samples)
    medians = {name: statistics.median(v) for name, v in times.items()}
    base = medians["off"]
    # without an SDK the runner's only extra work is asking whether anything would receive
    # spans: timed on its own, it is the no-op way's overhead, free of the runs' noise
    settings = ways["no-op (no SDK)"]
    started = time.thread_time()
    for _ in range(100_000):
        settings.reports()
    check_us = (time.thread_time() - started) / 100_000 * 1e6
    return {
        "runs": runs,
        "median_us": {name: round(value, 1) for name, value in medians.items()},
        "overhead": {name: round(value / base - 1.0, 4) for name, value in medians.items()},
        "noise": round(abs(medians["off, again (the noise)"] / base - 1.0), 4),
        "no_sdk_check_us": round(check_us, 3),
        "no_sdk_overhead": round(check_us / base, 5),
    }


def measure(quick: bool = False) -> dict[str, Any]:
    """Median time per run each way, and each way's overhead over telemetry off."""
    return asyncio.run(_measure(RUNS[quick]))


def section(data: dict[str, Any]) -> list[str]:
    """Markdown lines of `measure`'s result."""
    noop = data["no_sdk_overhead"]
    lines = [
        "## 2i. Tracing overhead",
        "",
        f"{data['runs']:,} runs each way, in alternating blocks of 20: a prompt, two calls "
        "(one allowed, one denied), a final answer; the fake server answers in-process, so "
        "the run's own work is all that is timed (the worst case for the ratio). Without an "
        "SDK the runner skips telemetry altogether; its one extra step, asking whether "
        f"anything would receive spans, takes {data['no_sdk_check_us']} µs, "
        f"{noop:.3%} of a run. Target: no-op tracing under 2% of a run: "
        f"{'met' if noop < 0.02 else 'NOT met'}. Two identical ways (off, twice) differ by "
        f"{data['noise']:.1%}: differences of that size below are noise.",
        "",
        "| telemetry | median µs per run | over off |",
        "|---|---:|---:|",
    ]
    for name, value in data["median_us"].items():
        lines.append(f"| {name} | {value:,.1f} | {data['overhead'][name]:+.1%} |")
    lines.append("")
    return lines


def main() -> None:
    section_main(__doc__, "300 runs each way, not 2,000", measure, section)


if __name__ == "__main__":
    main()
