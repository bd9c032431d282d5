"""Soak: K agents for M minutes against the loopback fake xAI server, with faults injected.

Faults at ``--fault-rate``: 429s, 5xx, dropped connections, truncated streams, malformed
bodies and arguments (some past the client's retries), tool exceptions and timeouts, and
with ``--sandbox`` sandbox timeouts. At the end it checks that every run ended in success
or a typed error carrying its run, that each agent's audit log holds exactly the records
its runs imply and verifies, that no sandbox container is left, and that memory stayed
flat. Prints a one-screen summary; exits 1 on any violation.

    python -m tools.soak --agents 8 --minutes 10 --fault-rate 0.05 [--sandbox]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.bench.concurrency import rss_mb
from tools.bench.server import counted_server, raise_open_files
from tools.soak.checks import (
    Ledger,
    check_audit,
    expected_events,
    leftover_containers,
    memory_verdict,
)
from tools.soak.script import FAILING_TICKET, SLOW_TICKET

POLICY = """
version: 1
default: deny
roles: {user: {}}
tools:
  lookup_ticket: {side_effect: read, action: allow, roles: [user]}
"""
PYTHON_RULE = "  run_python: {side_effect: read, action: allow, roles: [user]}\n"
TOOL_TIMEOUT = 0.2


@dataclass
class Soak:
    """Everything the workers share and the checks read."""

    deadline: float
    max_runs: int
    folder: Path
    outcomes: Counter[str] = field(default_factory=Counter)
    steps: Counter[str] = field(default_factory=Counter)
    """Tool call outcomes (ok, failed, timed_out, invalid...)."""
    violations: list[str] = field(default_factory=list)
    ledgers: dict[str, Ledger] = field(default_factory=dict)
    memory: list[tuple[float, float]] = field(default_factory=list)


def make_agent(index: int, base_url: str, soak: Soak, http: Any, python: Any) -> Any:
    """Agent `index`: its own audit log; streams on odd indices; the sandbox tool if given."""
    from agentkit import Agent, Principal, RunConfig, tool
    from agentkit.audit import AuditLog, JsonlSink
    from agentkit.model import RetryPolicy, XAIClient
    from agentkit.policy import Policy

    class SoakAgent(Agent):
        @tool(timeout=TOOL_TIMEOUT)
        async def lookup_ticket(self, ticket_id: int) -> dict[str, Any]:
            """Look up a ticket."""
            if ticket_id == FAILING_TICKET:
                raise RuntimeError(f"ticket store unavailable for {ticket_id}")
            if ticket_id == SLOW_TICKET:
                await asyncio.sleep(TOOL_TIMEOUT * 20)
            return {"id": ticket_id, "title": "disk full"}

    retry = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
    return SoakAgent(
        client=XAIClient(api_key="soak", base_url=base_url, http=http, retry=retry),
        policy=Policy.from_yaml(POLICY + (PYTHON_RULE if python is not None else "")),
        tools=[python] if python is not None else [],
        audit=AuditLog(JsonlSink(soak.folder / f"a{index}.jsonl")),
        principal=Principal(user_id=f"soak-{index}", roles=("user",)),
        config=RunConfig(stream=index % 2 == 1),
    )


async def worker(name: str, agent: Any, soak: Soak) -> None:
    """Run the agent again and again until the deadline or the run cap."""
    from agentkit.errors import AgentkitError

    ledger = soak.ledgers[name] = Ledger()
    for number in range(soak.max_runs):
        if time.monotonic() >= soak.deadline:
            break
        run_id = f"{name}-{number}"
        error: BaseException | None = None
        try:
            run = await agent.run(f"{run_id}: what is ticket 1 about?", run_id=run_id)
        except AgentkitError as exc:
            error, run = exc, getattr(exc, "run", None)
        except Exception as exc:
            soak.violations.append(f"run {run_id} raised an untyped {type(exc).__name__}: {exc}")
            ledger.add(Counter())
            continue
        soak.outcomes[_outcome(run_id, run, error, soak)] += 1
        if run is None:
            ledger.add(Counter())
            continue
        soak.steps.update(f"{step.tool} {step.status}" for step in run.steps)
        ledger.add(expected_events(run, error))


def _outcome(run_id: str, run: Any, error: BaseException | None, soak: Soak) -> str:
    if run is None:
        soak.violations.append(f"run {run_id}: {type(error).__name__} carries no run")
        return f"failed: {type(error).__name__} (no run)"
    if error is None:
        if run.status != "completed" or not run.output:
            soak.violations.append(f"run {run_id} returned status {run.status} without an error")
        return "completed"
    if run.status != "failed" or run.error is None or run.error.type != type(error).__name__:
        soak.violations.append(f"run {run_id}: {type(error).__name__} but state {run.status}")
    return f"failed: {type(error).__name__}"


async def sample_memory(soak: Soak) -> None:
    """RSS of this process once a second."""
    while True:
        soak.memory.append((time.monotonic(), rss_mb()))
        await asyncio.sleep(1.0)


async def drive(args: argparse.Namespace, base_url: str, soak: Soak) -> None:
    """Start the agents, wait for them, close everything they opened."""
    import httpx2

    http = httpx2.AsyncClient(limits=httpx2.Limits(max_connections=args.agents * 2))
    sandbox = python = None
    if args.sandbox:
        from agentkit.sandbox.config import SandboxConfig
        from agentkit.sandbox.docker_sandbox import DockerSandbox
        from agentkit.tools.python import python_tool

        sandbox = DockerSandbox(config=SandboxConfig(timeout=1.0), pool_size=1)
        python = python_tool(sandbox)
    agents = {
        f"a{i}": make_agent(i, base_url, soak, http, python if i < args.sandbox_agents else None)
        for i in range(args.agents)
    }
    sampler = asyncio.create_task(sample_memory(soak))
    try:
        await asyncio.gather(*(worker(name, agent, soak) for name, agent in agents.items()))
    finally:
        sampler.cancel()
        if sandbox is not None:
            await sandbox.aclose()
        for agent in agents.values():
            agent.runner.audit.close()
        await http.aclose()


def final_checks(args: argparse.Namespace, soak: Soak) -> dict[str, Any]:
    """Audit files, containers and memory; violations are appended to `soak`."""
    audit_problems = []
    for name, ledger in soak.ledgers.items():
        audit_problems += check_audit(soak.folder / f"{name}.jsonl", ledger, name)
    soak.violations += audit_problems
    left = leftover_containers() if args.sandbox else []
    if left:
        soak.violations.append(f"sandbox containers left behind: {left}")
    window = min(60.0, args.minutes * 60 / 4)
    first, last, flat = memory_verdict(soak.memory, window)
    if not flat:
        soak.violations.append(f"memory grew from {first:.1f} MB to {last:.1f} MB")
    return {
        "audit_ok": not audit_problems,
        "containers_left": len(left),
        "rss_first_mb": first,
        "rss_last_mb": last,
        "window_s": window,
    }


def print_summary(args: argparse.Namespace, soak: Soak, facts: dict[str, Any]) -> None:
    runs = sum(soak.outcomes.values())
    records = sum(ledger.events.total() for ledger in soak.ledgers.values())
    print(
        f"soak: {args.agents} agents, {args.minutes:g} min, fault rate {args.fault_rate:g}"
        f"{', sandbox' if args.sandbox else ''}"
    )
    print(
        f"runs: {runs} ({runs / max(facts['elapsed_s'], 1e-9):.1f}/s); "
        f"requests served: {facts['requests']}"
    )
    for outcome, count in soak.outcomes.most_common():
        print(f"  {outcome:<40}{count:>8}")
    print("tool calls: " + ", ".join(f"{k} {v}" for k, v in soak.steps.most_common()))
    print(
        f"audit: {records} records in {len(soak.ledgers)} chains, as expected and verified: "
        f"{'yes' if facts['audit_ok'] else 'NO'}"
    )
    print(f"containers left: {facts['containers_left']}")
    print(
        f"memory (median RSS, first/last {facts['window_s']:.0f} s): "
        f"{facts['rss_first_mb']:.1f} MB -> {facts['rss_last_mb']:.1f} MB"
    )
    print(f"violations: {len(soak.violations)}")
    for violation in soak.violations[:10]:
        print(f"  - {violation}")
    print("RESULT: " + ("PASS" if not soak.violations else "FAIL"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--max-runs", type=int, default=100_000, help="per agent")
    parser.add_argument("--sandbox", action="store_true", help="give some agents run_python")
    parser.add_argument("--sandbox-agents", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    raise_open_files()
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        began = time.monotonic()
        soak = Soak(began + args.minutes * 60, args.max_runs, Path(folder))
        with counted_server(soak_rate=args.fault_rate, seed=args.seed, cpu=None) as server:
            asyncio.run(drive(args, server.base_url, soak))
            requests = server.counts()["total"]
        facts = final_checks(args, soak)
        facts.update(requests=requests, elapsed_s=time.monotonic() - began)
        print_summary(args, soak, facts)
    return 1 if soak.violations else 0


if __name__ == "__main__":
    sys.exit(main())
