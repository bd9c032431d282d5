"""Durable runs on Temporal: what a run costs through Temporal against the same run
in-process, beside Pydantic AI's `TemporalAgent`, with one worker and then two.

Every run is the benchmark's one workload (prompt -> one `lookup_ticket` call -> final
text) against one fake xAI server process answering at once; the server counts the
requests, so every run is seen to make exactly two. Both frameworks share one Temporal
dev server (the `temporal` binary, on loopback, in-memory) and each gets a task queue of
its own per measurement.

- In-process: the latency and concurrency benchmarks' own child processes
  (`tools.bench.latency`, `tools.bench.concurrency`) run the framework's agent directly.
- Through Temporal: workers are separate processes (`--worker`), each one Temporal
  `Worker` with its defaults (sandboxed workflows, up to 100 activities at once); this
  process starts the workflows and waits for their results. agentkit is its shipped
  `worker_for` / `start_run`; Pydantic AI is `TemporalAgent` with `PydanticAIPlugin` and
  `AgentPlugin`, the workflow a one-liner calling ``agent.run`` (its module is passed
  through the sandbox, so it is not re-imported for every run as agentkit's is: if
  anything that favours Pydantic AI). `TemporalAgent` is deprecated in the installed
  release for its `TemporalDurability` capability; it is still the documented wrapper.

Measured for each: one run alone (mean of several, each after a pause, so the stack is
quiet; the added latency is the difference of means against in-process), the same runs
back to back, and N runs started together (runs per second, mean time per run).
Nothing is pinned to a CPU here but the fake server: on a two-CPU machine the dev
server, the workers and this process share the cores with it, so two workers are two
processes contending for the same cores, not two machines.

    python -m tools.bench.durable [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from tools.bench.common import REPO, summary
from tools.bench.peers import Close, _openai, agentkit_agent
from tools.bench.server import ServerHandle, counted_server
from tools.bench.spawn import child_json
from tools.bench.workload import MODEL, PROMPT, lookup_ticket

FRAMEWORKS = {"agentkit": "agentkit", "pydantic_ai": "Pydantic AI (TemporalAgent)"}
IN_PROCESS_PEER = {"agentkit": "agentkit", "pydantic_ai": "pydantic_ai_responses"}
"""The in-process peer of each framework, as `tools.bench.peers` builds it."""
WORKER_COUNTS = (1, 2)
SPACING = 0.3
"""Seconds of quiet before each run timed alone. Back to back, after a few runs, every
workflow task of either framework waits about 40 ms more to be picked up (like TCP's
delayed ACK on loopback); a pause of 0.25 s or more between runs avoids it."""
Once = Callable[[], Awaitable[None]]


# --- the Pydantic AI side: its agent and workflow, as its documentation writes them ---------

_AGENT: list[Any] = []
"""The worker's `TemporalAgent`; the workflow reads it here (this module is passed through
the workflow sandbox, so the worker and its workflows share it)."""


@workflow.defn(name="bench.PydanticAIRun")
class PydanticAIRun:
    """One Pydantic AI run as a workflow: model requests and the tool call are activities."""

    @workflow.run
    async def run(self, prompt: str) -> str:
        result = await _AGENT[0].run(prompt)
        return str(result.output)


def pydantic_temporal_agent(openai_client: Any) -> Any:
    """The peers' Pydantic AI agent (Responses model, the same tool) in a `TemporalAgent`."""
    from pydantic_ai import Agent
    from pydantic_ai.durable_exec.temporal import TemporalAgent
    from pydantic_ai.models.openai import OpenAIResponsesModel
    from pydantic_ai.providers.openai import OpenAIProvider

    provider = OpenAIProvider(openai_client=openai_client)
    agent = Agent(OpenAIResponsesModel(MODEL, provider=provider), tools=[lookup_ticket])
    with warnings.catch_warnings():  # deprecated for its TemporalDurability capability
        warnings.simplefilter("ignore")
        return TemporalAgent(agent, name="bench")


async def pydantic_worker(
    address: str, queue: str, base_url: str, folder: Path
) -> tuple[Worker, Close]:
    from pydantic_ai.durable_exec.temporal import AgentPlugin, PydanticAIPlugin

    del folder
    openai_client = _openai(base_url, 100)  # as many connections as runs at once
    _AGENT[:] = [pydantic_temporal_agent(openai_client)]
    client = await Client.connect(address, plugins=[PydanticAIPlugin()])
    restrictions = SandboxRestrictions.default.with_passthrough_modules(__name__)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[PydanticAIRun],
        plugins=[AgentPlugin(_AGENT[0])],
        workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions),
    )
    return worker, openai_client.close


async def agentkit_worker(
    address: str, queue: str, base_url: str, folder: Path
) -> tuple[Worker, Close]:
    from agentkit.temporal import worker_for

    agent = agentkit_agent(base_url, folder / "audit.jsonl", None)
    return worker_for(agent, await Client.connect(address), queue), agent.client.aclose


WORKERS = {"agentkit": agentkit_worker, "pydantic_ai": pydantic_worker}


async def serve_worker(framework: str, address: str, queue: str, base_url: str) -> None:
    """A worker process: poll `queue` until the parent closes this process's stdin."""
    with tempfile.TemporaryDirectory() as tmp:
        worker, close = await WORKERS[framework](address, queue, base_url, Path(tmp))
        async with worker:
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.read)
        await close()


# --- the starting side ----------------------------------------------------------------------


async def starter(framework: str, address: str, queue: str) -> Once:
    """One whole run through Temporal: start the workflow, wait for its result."""
    if framework == "pydantic_ai":
        from pydantic_ai.durable_exec.temporal import PydanticAIPlugin

        client = await Client.connect(address, plugins=[PydanticAIPlugin()])

        async def pydantic_once() -> None:
            output = await client.execute_workflow(
                PydanticAIRun.run, PROMPT, id=f"bench-{uuid.uuid4().hex}", task_queue=queue
            )
            if not output:
                raise RuntimeError("pydantic-ai on Temporal: no final text")

        return pydantic_once
    from agentkit import Principal
    from agentkit.temporal import start_run

    client = await Client.connect(address)
    bench = Principal(user_id="bench", roles=("user",))

    async def agentkit_once() -> None:
        end = await (await start_run(client, PROMPT, principal=bench, task_queue=queue)).result()
        if end.status != "completed":
            raise RuntimeError(f"agentkit on Temporal: {end.status} {end.error}")

    return agentkit_once


async def _timed(once: Once, pause: float = 0.0) -> float:
    await asyncio.sleep(pause)
    started = time.perf_counter()
    await once()
    return (time.perf_counter() - started) * 1000


async def drive(once: Once, *, warmup: int, alone: int, together: int) -> dict[str, Any]:
    """Warm-up runs; `alone` runs spaced by `SPACING`, then as many back to back; then
    `together` runs at once."""
    await asyncio.gather(*(once() for _ in range(warmup)))
    spaced = [await _timed(once, SPACING) for _ in range(alone)]
    back_to_back = [await _timed(once) for _ in range(alone)]
    began = time.perf_counter()
    batch = await asyncio.gather(*(_timed(once) for _ in range(together)))
    return {
        "alone_ms": spaced,
        "back_to_back_ms": back_to_back,
        "together_ms": list(batch),
        "wall_s": time.perf_counter() - began,
        "runs": warmup + 2 * alone + together,
    }


@contextmanager
def workers(framework: str, count: int, address: str, queue: str, base_url: str) -> Iterator[None]:
    """`count` worker processes on `queue`, each polling before this yields."""
    command = [sys.executable, "-m", "tools.bench.durable", "--worker", framework,
               "--address", address, "--queue", queue, "--base-url", base_url]  # fmt: skip
    env = {**os.environ, "AGENTKIT_SEAL_KEY": os.urandom(32).hex()}  # one key for all of them
    started = [
        subprocess.Popen(
            command, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]
    try:
        for process in started:
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a {framework} worker did not start")
        yield
    finally:
        for process in started:
            if process.stdin is not None:
                process.stdin.close()
        for process in started:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def through_temporal(
    framework: str, count: int, address: str, fake: ServerHandle, runs: dict[str, int]
) -> dict[str, Any]:
    """`framework` with `count` workers on a fresh task queue of the shared dev server."""
    queue = f"bench-{framework}-{count}-{uuid.uuid4().hex[:8]}"
    before = fake.counts()["total"]
    with workers(framework, count, address, queue, fake.base_url):

        async def go() -> dict[str, Any]:
            once = await starter(framework, address, queue)
            return await drive(once, **{**runs, "warmup": runs["warmup"] * count})

        raw = asyncio.run(go())
    return _summary(raw, fake.counts()["total"] - before)


def in_process(framework: str, fake: ServerHandle, runs: dict[str, int]) -> dict[str, Any]:
    """The same runs in-process, in the latency and concurrency benchmarks' children."""
    peer, url = IN_PROCESS_PEER[framework], fake.base_url
    before = fake.counts()["total"]
    alone = child_json("tools.bench.latency", ["--peer", peer, "--base-url", url, "--runs",
                       str(runs["alone"]), "--warmup", str(runs["warmup"])])  # fmt: skip
    together = child_json("tools.bench.concurrency", ["--peer", peer, "--base-url", url,
                          "--size", str(runs["together"])])  # fmt: skip
    raw = {
        "alone_ms": alone["samples_ms"],  # back to back: in-process runs do not wait on it
        "back_to_back_ms": alone["samples_ms"],
        "together_ms": together["per_run_ms"],
        "wall_s": together["wall_ms"] / 1000,
        "runs": runs["warmup"] + runs["alone"] + 1 + runs["together"],  # 1: its warm-up
    }
    return _summary(raw, fake.counts()["total"] - before)


def _summary(raw: dict[str, Any], requests: int) -> dict[str, Any]:
    alone = summary(raw["alone_ms"])
    return {
        "alone_mean_ms": statistics.fmean(raw["alone_ms"]),
        "alone_p50_ms": alone["median_ms"],
        "alone_p90_ms": alone["p90_ms"],
        "back_to_back_mean_ms": statistics.fmean(raw["back_to_back_ms"]),
        "runs_per_s": len(raw["together_ms"]) / raw["wall_s"],
        "together_mean_ms": statistics.fmean(raw["together_ms"]),
        "requests_per_run": requests / raw["runs"],
    }


def _compare(results: dict[str, dict[str, Any]]) -> None:
    """Added latency and throughput against in-process; agentkit over Pydantic AI."""
    for entries in results.values():
        base = entries["in_process"]
        for count in WORKER_COUNTS:
            entry = entries[f"temporal_{count}"]
            entry["added_ms"] = entry["alone_mean_ms"] - base["alone_mean_ms"]
            entry["x_in_process_latency"] = entry["alone_mean_ms"] / base["alone_mean_ms"]
            entry["x_in_process_runs_per_s"] = entry["runs_per_s"] / base["runs_per_s"]


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """agentkit-on-Temporal / Pydantic-AI-on-Temporal, per worker count."""
    ours, theirs = results["agentkit"], results["pydantic_ai"]
    return {
        str(count): {
            "runs_per_s": ours[key]["runs_per_s"] / theirs[key]["runs_per_s"],
            "added_ms": ours[key]["added_ms"] / theirs[key]["added_ms"],
            "alone_mean_ms": ours[key]["alone_mean_ms"] / theirs[key]["alone_mean_ms"],
        }
        for count in WORKER_COUNTS
        for key in [f"temporal_{count}"]
    }


def _dev_server_binary() -> str:
    binary = Path(sys.executable).with_name("temporal")
    if not binary.exists():
        raise RuntimeError("the temporal CLI binary is missing (the [temporal] extra installs it)")
    return str(binary)


@contextmanager
def dev_server() -> Iterator[str]:
    """A Temporal dev server on loopback (in-memory, no UI); yields its address."""
    loop = asyncio.new_event_loop()
    env = loop.run_until_complete(
        WorkflowEnvironment.start_local(dev_server_existing_path=_dev_server_binary(), ui=False)
    )
    try:
        yield env.client.service_client.config.target_host
    finally:
        loop.run_until_complete(env.shutdown())
        loop.close()


def measure(quick: bool = False) -> dict[str, Any]:
    """Both frameworks in-process and through Temporal with one and two workers."""
    runs = {"warmup": 5, "alone": 10 if quick else 30, "together": 10 if quick else 50}
    results: dict[str, dict[str, Any]] = {f: {} for f in FRAMEWORKS}
    with counted_server() as fake, dev_server() as address:
        for framework in FRAMEWORKS:
            results[framework]["in_process"] = in_process(framework, fake, runs)
            print(f"  durable {framework} in-process", flush=True)
        for count in WORKER_COUNTS:
            for framework in FRAMEWORKS:
                entry = through_temporal(framework, count, address, fake, runs)
                results[framework][f"temporal_{count}"] = entry
                print(f"  durable {framework} on Temporal, {count} worker(s)", flush=True)
    _compare(results)
    return {
        "runs": runs,
        "cpus": os.cpu_count(),
        "results": results,
        "ratios": ratios(results),
    }


def section(data: dict[str, Any]) -> list[str]:
    """The Markdown section of `measure`'s result."""
    runs = data["runs"]
    lines = [
        "## 2e. Durable runs on Temporal, beside Pydantic AI's TemporalAgent",
        "",
        "The same workload (two model requests, one tool) against the fake server answering "
        "at once, in-process and through one Temporal dev server (loopback, in-memory) with "
        "one and then two worker processes; one client process starts the workflows and "
        "waits for their results. agentkit's run is `start_run` as shipped (each turn, a "
        "model request and the calls it asked for, is an activity: two); Pydantic AI's is "
        "`TemporalAgent.run` in a one-line workflow (each model request and the tool call "
        f"is an activity: three). One run alone: mean of {runs['alone']}, each after "
        f"{SPACING:g} s of quiet (in-process: back to back); added: over the same framework "
        "in-process. Back to back, "
        "every workflow task of either framework waits about 40 ms more to be picked up "
        "after the first few runs (the dev server and SDK on loopback, like a delayed TCP "
        f"ACK): that column shows it. At once: {runs['together']} runs started together. "
        f"{data['cpus']} CPUs shared by the dev server, the fake server, the workers and the "
        "client: two workers are two processes on the same cores, not two machines.",
        "",
        "| framework | where | one run alone ms | p90 ms | added ms | x in-process | "
        "back to back ms | runs/s at once | mean ms at once | requests/run |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for framework, entries in data["results"].items():
        lines += [_row(FRAMEWORKS[framework], key, entry) for key, entry in entries.items()]
    lines.append("")
    for count, ratio in data["ratios"].items():
        lines.append(
            f"- {count} worker{'s' if count != '1' else ''}: agentkit on Temporal does "
            f"{ratio['runs_per_s']:.2f} x the runs per second of Pydantic AI's TemporalAgent; "
            f"it adds {ratio['added_ms']:.2f} x the latency per run Pydantic AI adds over "
            f"in-process ({ratio['alone_mean_ms']:.2f} x its time for one run alone)."
        )
    return [*lines, ""]


def _row(label: str, key: str, entry: dict[str, Any]) -> str:
    where, added, times = "in-process", "", ""
    if key != "in_process":
        count = key.removeprefix("temporal_")
        where = f"Temporal, {count} worker{'s' if count != '1' else ''}"
        added, times = f"{entry['added_ms']:+.1f}", f"{entry['x_in_process_latency']:.1f}"
    return (
        f"| {label} | {where} | {entry['alone_mean_ms']:.1f} | {entry['alone_p90_ms']:.1f} | "
        f"{added} | {times} | {entry['back_to_back_mean_ms']:.1f} | "
        f"{entry['runs_per_s']:.0f} | {entry['together_mean_ms']:.0f} | "
        f"{entry['requests_per_run']:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs: a smoke test")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        from tools.bench import durable  # not __main__: the workflow's module must be importable

        asyncio.run(durable.serve_worker(args.worker, args.address, args.queue, args.base_url))
        return
    data = measure(args.quick)
    print(json.dumps(data, indent=2))
    print("\n".join(section(data)))


if __name__ == "__main__":
    main()
