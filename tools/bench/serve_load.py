"""The service under load: N runs started over HTTP at once, one SSE subscriber each.

The agent is the concurrency benchmark's (two model requests and one tool per run, the
fake xAI server waiting 200 ms a request in its own process). The service runs in one
child process on one CPU; the HTTP clients (aiohttp: a POST, then the run's event stream
until its ``run.result``) in another, on the fake server's CPU (the machine has two).
The floor is the same N runs of the same agent in-process (asyncio.gather), measured in
the same invocation.

    python -m tools.bench.serve_load [--size 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.bench.common import CLIENT_CPU, REPO, SERVER_CPU, pin_to
from tools.bench.peers import agentkit_agent
from tools.bench.server import counted_server, raise_open_files
from tools.bench.spawn import child_json


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(base_url: str, port: int, folder: Path) -> None:
    """The service process: the benchmark agent behind `create_app`, one token for all."""
    import uvicorn

    from agentkit import ApprovalStore
    from agentkit.serve import TokenAuthenticator, TokenStore, UserLimits, create_app

    pin_to(CLIENT_CPU)
    raise_open_files()
    agent = agentkit_agent(base_url, folder / "audit.jsonl", None)
    tokens = TokenStore(folder / "tokens.db")
    (folder / "token").write_text(tokens.create("bench", ("user",)))
    app = create_app(
        agent,
        store=ApprovalStore(folder / "approvals.db"),
        authenticator=TokenAuthenticator(tokens),
        limits=UserLimits(concurrent_runs=None, runs_per_minute=None),
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=4096)


async def _clients(base: str, token: str, size: int) -> dict[str, Any]:
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:

        async def one() -> float:
            started = time.perf_counter()
            async with http.post(base + "/v1/runs", json={"prompt": "go"}) as made:
                run = await made.json()
            async with http.get(base + run["events"]) as stream:
                async for line in stream.content:
                    if line.startswith(b"event: run.result"):
                        break
            return (time.perf_counter() - started) * 1000

        await one()  # warm up
        started = time.perf_counter()
        times = await asyncio.gather(*(one() for _ in range(size)))
        wall = (time.perf_counter() - started) * 1000
    times = sorted(times)
    return {
        "wall_ms": wall,
        "p50_ms": statistics.median(times),
        "p99_ms": times[int(len(times) * 0.99) - 1],
    }


async def _in_process(base_url: str, size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        agent = agentkit_agent(base_url, Path(tmp) / "audit.jsonl", None)
        await agent.run("go")

        async def one() -> float:
            started = time.perf_counter()
            await agent.run("go")
            return (time.perf_counter() - started) * 1000

        started = time.perf_counter()
        times = sorted(await asyncio.gather(*(one() for _ in range(size))))
        wall = (time.perf_counter() - started) * 1000
        await agent.aclose()
    return {
        "wall_ms": wall,
        "p50_ms": statistics.median(times),
        "p99_ms": times[int(len(times) * 0.99) - 1],
    }


def measure(size: int) -> dict[str, Any]:
    """The service over HTTP against the same runs in-process, one fake server each."""
    with counted_server(latency=0.2) as fake:
        floor = child_json(
            "tools.bench.serve_load",
            ["--role", "in-process", "--base-url", fake.base_url, "--size", str(size)],
        )
    with counted_server(latency=0.2) as fake, tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        service = subprocess.Popen(
            [sys.executable, "-m", "tools.bench.serve_load", "--role", "serve",
             "--base-url", fake.base_url, "--port", str(port), "--folder", tmp],
            cwd=REPO,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not (Path(tmp) / "token").exists() or not _listening(port):
                if time.monotonic() > deadline or service.poll() is not None:
                    raise RuntimeError("the service did not start")
                time.sleep(0.1)
            served = child_json(
                "tools.bench.serve_load",
                ["--role", "clients", "--base-url", f"http://127.0.0.1:{port}",
                 "--token", (Path(tmp) / "token").read_text(), "--size", str(size)],
            )  # fmt: skip
            peak_rss_mb = _peak_rss_mb(service.pid)
        finally:
            service.terminate()
            service.wait(30)
    trip = child_json("tools.bench.serve_load", ["--role", "approval"])
    return {
        "size": size,
        "approval_round_trip": trip,
        "in_process": floor,
        "over_http": served,
        "ratio": served["wall_ms"] / floor["wall_ms"],
        "peak_rss_mb": peak_rss_mb,
        "added_p99_ms": served["p99_ms"] - floor["p99_ms"],
    }


TARGET = 1.3
PAUSED = 1000
"""Runs left paused to weigh what one costs the service's memory."""


def section(data: dict[str, Any]) -> list[str]:
    """The Markdown section of `measure`'s result."""
    floor, http = data["in_process"], data["over_http"]
    met = "met" if data["ratio"] <= TARGET else "**missed**"
    lines = [
        f"## 2c. The service: {data['size']:,} runs over HTTP at once, an SSE subscriber each",
        "",
        "`agentkit serve` (one process, one CPU) against the same runs of the same agent "
        "in-process (asyncio.gather), the fake xAI server waiting 200 ms a request.",
        "",
        "| | wall ms | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
        f"| in-process | {floor['wall_ms']:.0f} | {floor['p50_ms']:.0f} | {floor['p99_ms']:.0f} |",
        f"| over HTTP + SSE | {http['wall_ms']:.0f} | {http['p50_ms']:.0f} | "
        f"{http['p99_ms']:.0f} |",
        "",
        f"Over HTTP / in-process: {data['ratio']:.2f} x (target {TARGET} x: {met}); "
        f"added p99 per run {data['added_p99_ms']:.0f} ms; the service's peak resident "
        f"memory {data.get('peak_rss_mb', float('nan')):.0f} MiB.",
        "",
    ]
    return lines + _trip_lines(data.get("approval_round_trip"))


def _trip_lines(trip: dict[str, Any] | None) -> list[str]:
    if not trip:
        return []
    return [
        f"Approval round trip (another person approves over HTTP -> the run's stream shows it "
        f"completed; scripted model, {trip['runs']} runs one after another): p50 "
        f"{trip['p50_ms']:.1f} ms, p99 {trip['p99_ms']:.1f} ms. Memory per paused run "
        f"(its events, its run record; {trip.get('paused_runs', 0):,} runs left paused): "
        f"{trip.get('kb_per_paused_run', float('nan')):.1f} KiB.",
        "",
    ]


def approval_round_trip(runs: int = 50) -> dict[str, Any]:
    """Decision -> run completed, over HTTP: a run pauses on a destructive call; another
    person approves it (POST /v1/approvals/{id}); the time until its event stream shows
    the completed run. The model is scripted in-process: this is the service's own path
    (store the verdict, resume, stream), not the model's latency."""
    import threading

    import httpx2
    import uvicorn

    from agentkit import Agent, AllowAll, ApprovalStore, tool
    from agentkit.serve import TokenAuthenticator, TokenStore, UserLimits, create_app
    from agentkit.testing import Script, Turn, scripted_client

    class Closer(Agent):
        policy = AllowAll()

        @tool(destructive=True)
        async def close(self, ticket: int) -> str:
            """Close a ticket."""
            return "closed"

    script = Script([Turn.call("close", {"ticket": 1}), Turn.text("done")])
    with tempfile.TemporaryDirectory() as tmp:
        tokens = TokenStore(Path(tmp) / "tokens.db")
        ana, lee = tokens.create("ana"), tokens.create("lee")
        app = create_app(
            Closer(client=scripted_client(script), audit=None),
            store=ApprovalStore(Path(tmp) / "approvals.db"),
            authenticator=TokenAuthenticator(tokens),
            limits=UserLimits(concurrent_runs=None, runs_per_minute=None),
        )
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        base, times = f"http://127.0.0.1:{port}", []
        as_ana = {"Authorization": f"Bearer {ana}"}
        as_lee = {"Authorization": f"Bearer {lee}"}
        with httpx2.Client(base_url=base, timeout=30) as http:
            for _ in range(runs + 1):
                run = http.post("/v1/runs", json={"prompt": "close 1"}, headers=as_ana).json()
                paused = http.get(run["events"], headers=as_ana).text
                seen = paused.count("\nid: ") + paused.startswith("id: ")
                [approval] = http.get("/v1/approvals", headers=as_lee).json()["approvals"]
                started = time.perf_counter()
                http.post(f"/v1/approvals/{approval['approval_id']}", json={"approved": True},
                          headers=as_lee)  # fmt: skip
                rest = http.get(run["events"], headers={**as_ana, "Last-Event-ID": str(seen)})
                assert '"status":"completed"' in rest.text
                times.append((time.perf_counter() - started) * 1000)
            gc.collect()
            before = _rss_mb()
            held = [http.post("/v1/runs", json={"prompt": "close 1"}, headers=as_ana).json()
                    for _ in range(PAUSED)]  # fmt: skip
            for run in held:  # each stream ends once its run paused
                http.get(run["events"], headers=as_ana)
            gc.collect()
            per_paused_kb = (_rss_mb() - before) * 1024 / PAUSED
        server.should_exit = True
        thread.join(10)
    times = sorted(times[1:])  # the first one warms up
    return {
        "runs": runs,
        "p50_ms": statistics.median(times),
        "p99_ms": times[max(0, int(len(times) * 0.99) - 1)],
        "paused_runs": PAUSED,
        "kb_per_paused_run": per_paused_kb,
    }


def _peak_rss_mb(pid: int) -> float:
    """The highest resident memory of process `pid` so far (Linux's VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--role", default="measure", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "serve":
        serve(args.base_url, args.port, Path(args.folder))
    elif args.role == "clients":
        pin_to(SERVER_CPU)  # beside the fake model: the service has the other CPU to itself
        raise_open_files()
        print(json.dumps(asyncio.run(_clients(args.base_url, args.token, args.size))))
    elif args.role == "approval":
        print(json.dumps(approval_round_trip()))
    elif args.role == "in-process":
        pin_to(CLIENT_CPU)
        raise_open_files()
        print(json.dumps(asyncio.run(_in_process(args.base_url, args.size))))
    else:
        print(json.dumps(measure(args.size), indent=2))


if __name__ == "__main__":
    main()
