"""A simulated day: 10,000 requests from 50 users against a server enforcing RPM and TPM.

Virtual time: the event loop jumps to its next timer instead of sleeping, so the
simulated hours take seconds and no real minute is waited. The simulated server holds
a sliding 60 s window of requests and tokens (the real tokens of each request, counted
on arrival) and answers 429 with a whole-second ``Retry-After`` when a request would
pass either limit; an accepted request takes 0.5-6 s. 50 users share the pool of
requests, each sending its next one after a think time (exponential, mean 3 s), so
demand stays above the limit until the pool is empty. Each request's input is 300-8,000
tokens, its output up to its ``max_output_tokens`` of 1,000.

Two ways of calling it:

* gated: every attempt goes through one `RateGate` holding the same limits, its token
  estimate the input as ``estimate_request_tokens`` would see it (within ±10 % of the
  truth) plus the 1,000 output tokens, settled with the real usage; a 429 calls
  `throttled` with its Retry-After and the attempt queues again;
* ungated: callers send at once and retry a 429 the way `RetryPolicy` does by default
  (Retry-After honoured, four attempts in all, then the request fails).

Then the day's cost with and without the router and the caches (`tools.bench.day_cost`).

Reported: 429s per request, requests that failed, throughput as a fraction of the
allowed rate (the busier of requests and tokens, from the first request to the last
answer), and p50/p99 of the time each request waited before its accepted attempt
(queueing in the gate, or backing off).

    python -m tools.bench.simulated_day [--quick]
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from agentkit.errors import RateLimited
from agentkit.model.rate_buckets import ModelLimits
from agentkit.model.request_queue import RateGate
from agentkit.model.retry import RetryPolicy
from agentkit.testing.virtual_time import VirtualLoop
from tools.bench import day_cost
from tools.bench.common import section_main

MODEL = "grok-4"
USERS = 50
REQUESTS = {True: 1_000, False: 10_000}
RPM = 120
TPM = 400_000
MAX_OUTPUT = 1_000
THINK_MEAN_S = 3.0
WINDOW_S = 60.0


@dataclass(slots=True)
class Job:
    """One request: its real sizes, and what became of it."""

    input_tokens: int
    output_tokens: int
    estimate: int
    attempts: int = 0
    throttled: int = 0
    waited_s: float = 0.0
    latency_s: float = 0.0
    done: bool = False

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(slots=True)
class Server:
    """A sliding-window RPM/TPM limiter in front of a model of random latency."""

    rng: random.Random
    spent: deque[tuple[float, int]] = field(default_factory=deque)
    tokens_in_window: int = 0
    accepted: int = 0
    accepted_tokens: int = 0
    last_answer: float = 0.0

    async def handle(self, job: Job) -> float | None:
        """None when answered; else the 429's Retry-After in seconds."""
        now = asyncio.get_running_loop().time()
        while self.spent and self.spent[0][0] <= now - WINDOW_S:
            self.tokens_in_window -= self.spent.popleft()[1]
        if len(self.spent) + 1 > RPM or self.tokens_in_window + job.tokens > TPM:
            return float(max(math.ceil(self._retry_after(now, job.tokens)), 1))
        self.spent.append((now, job.tokens))
        self.tokens_in_window += job.tokens
        self.accepted += 1
        self.accepted_tokens += job.tokens
        await asyncio.sleep(self.rng.uniform(0.5, 6.0))
        self.last_answer = max(self.last_answer, asyncio.get_running_loop().time())
        return None

    def _retry_after(self, now: float, tokens: int) -> float:
        extra_requests = len(self.spent) + 1 - RPM
        extra_tokens = self.tokens_in_window + tokens - TPM
        for at, size in self.spent:
            extra_requests -= 1
            extra_tokens -= size
            if extra_requests <= 0 and extra_tokens <= 0:
                return at + WINDOW_S - now
        return WINDOW_S


def _jobs(count: int, rng: random.Random) -> list[Job]:
    jobs = []
    for _ in range(count):
        size = int(rng.uniform(300, 8_000))
        seen = int(size * rng.uniform(0.9, 1.1))  # the chars/4 estimate is near, not exact
        jobs.append(Job(size, rng.randint(50, MAX_OUTPUT), seen + MAX_OUTPUT))
    return jobs


async def _gated(job: Job, server: Server, gate: RateGate) -> None:
    while True:
        job.attempts += 1
        async with gate.slot(MODEL, job.estimate) as ticket:
            job.waited_s += ticket.queued_s
            retry_after = await server.handle(job)
            if retry_after is None:
                ticket.settle(job.tokens)
                job.done = True
                return
            job.throttled += 1
            ticket.settle(0)
            gate.throttled(MODEL, retry_after)


async def _ungated(job: Job, server: Server, policy: RetryPolicy) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        job.attempts += 1
        retry_after = await server.handle(job)
        if retry_after is None:
            job.done = True
            return
        job.throttled += 1
        failure = RateLimited("429", retry_after=retry_after)
        wait = policy.delay(failure, job.attempts, loop.time() - started)
        if wait is None:
            return
        job.waited_s += wait
        await asyncio.sleep(wait)


async def _day(count: int, gated: bool, seed: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    jobs = _jobs(count, rng)
    server = Server(random.Random(seed + 1))
    limits = ModelLimits(rpm=RPM, tpm=TPM)
    gate = RateGate({MODEL: limits}, clock=loop.time)
    policy = RetryPolicy(rand=random.Random(seed + 2).random)
    pool = iter(jobs)

    async def user(think: random.Random) -> None:
        for job in pool:
            await asyncio.sleep(think.expovariate(1.0 / THINK_MEAN_S))
            started = loop.time()
            if gated:
                await _gated(job, server, gate)
            else:
                await _ungated(job, server, policy)
            job.latency_s = loop.time() - started

    await asyncio.gather(*(user(random.Random(seed * 100 + u)) for u in range(USERS)))
    return _summary(jobs, server)


def _summary(jobs: list[Job], server: Server) -> dict[str, Any]:
    minutes = server.last_answer / WINDOW_S
    done = [job for job in jobs if job.done]
    waits = sorted(job.waited_s for job in done)
    latencies = sorted(job.latency_s for job in done)
    requests_fraction = server.accepted / (RPM * minutes)
    tokens_fraction = server.accepted_tokens / (TPM * minutes)
    throttled = sum(job.throttled for job in jobs)
    return {
        "requests": len(jobs),
        "completed": len(done),
        "failed": len(jobs) - len(done),
        "attempts": sum(job.attempts for job in jobs),
        "429s": throttled,
        "429s_per_request_pct": round(100.0 * throttled / len(jobs), 2),
        "virtual_minutes": round(minutes, 1),
        "requests_fraction": round(requests_fraction, 3),
        "tokens_fraction": round(tokens_fraction, 3),
        "throughput_fraction": round(max(requests_fraction, tokens_fraction), 3),
        "wait_p50_s": round(_quantile(waits, 0.5), 2),
        "wait_p99_s": round(_quantile(waits, 0.99), 2),
        "latency_p50_s": round(_quantile(latencies, 0.5), 2),
        "latency_p99_s": round(_quantile(latencies, 0.99), 2),
    }


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def _simulate(count: int, gated: bool, seed: int) -> dict[str, Any]:
    loop = VirtualLoop()
    try:
        real = time.perf_counter()
        result = loop.run_until_complete(_day(count, gated, seed))
        result["real_seconds"] = round(time.perf_counter() - real, 2)
        return result
    finally:
        loop.close()


def measure(quick: bool = False) -> dict[str, Any]:
    """Simulate the day with and without the gate; the result for the report."""
    count = REQUESTS[quick]
    return {
        "requests": count,
        "users": USERS,
        "rpm": RPM,
        "tpm": TPM,
        "gated": _simulate(count, gated=True, seed=11),
        "ungated": _simulate(count, gated=False, seed=11),
        "cost": day_cost.measure(count),
    }


def section(data: dict[str, Any]) -> list[str]:
    """The Markdown lines of `measure`'s result."""
    lines = [
        "## 2h. A simulated day: 10,000 requests across 50 users under an RPM/TPM limit",
        "",
        f"{data['requests']:,} requests from {data['users']} users against a simulated server "
        f"allowing {data['rpm']} requests and {data['tpm']:,} tokens a minute (sliding "
        "window, 429 with Retry-After), in virtual time. Gated: one `RateGate` with the same "
        "limits, estimates settled with real usage. Ungated: `RetryPolicy`'s default "
        "retries (Retry-After honoured, four attempts). Wait: time before the accepted "
        "attempt (queueing, or backing off); throughput: the busier of requests and tokens "
        "as a fraction of the allowance.",
        "",
        "| calling | 429s per request | failed | throughput | requests | tokens | "
        "wait p50 s | wait p99 s | latency p50 s | latency p99 s | virtual min | real s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("gated", "ungated"):
        row = data[name]
        lines.append(
            f"| {name} | {row['429s_per_request_pct']} % | {row['failed']} | "
            f"{row['throughput_fraction']:.1%} | {row['requests_fraction']:.1%} | "
            f"{row['tokens_fraction']:.1%} | {row['wait_p50_s']} | {row['wait_p99_s']} | "
            f"{row['latency_p50_s']} | {row['latency_p99_s']} | {row['virtual_minutes']} | "
            f"{row['real_seconds']} |"
        )
    lines.append("")
    if "cost" in data:
        lines.extend(day_cost.section(data["cost"]))
    return lines


def main() -> None:
    section_main(__doc__, "1,000 requests, not 10,000", measure, section)


if __name__ == "__main__":
    main()
