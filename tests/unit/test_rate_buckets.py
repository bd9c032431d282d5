"""RateGate and its buckets: limits held in every window, FIFO, 429 learning, settling.

Most tests run on an event loop whose clock is virtual: when nothing is ready the loop
jumps to its next timer instead of sleeping, so minutes of queueing take milliseconds
and `asyncio.sleep` and the gate's clock agree exactly.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.model.rate_buckets import Aimd, MemoryBucketStore, ModelLimits, SqliteBucketStore
from agentkit.model.request_queue import (
    DEFAULT_OUTPUT_ALLOWANCE,
    RateGate,
    estimate_request_tokens,
)
from agentkit.model.types import ModelRequest
from agentkit.testing.virtual_time import VirtualLoop

T = TypeVar("T")
MODEL = "grok-4"


def run_virtual(main: Callable[[RateGate], Awaitable[T]], **gate_args: Any) -> T:
    """Run `main(gate)` on a virtual-time loop, the gate on that loop's clock."""
    loop = VirtualLoop()
    try:
        gate = RateGate(clock=loop.time, **gate_args)
        return loop.run_until_complete(main(gate))
    finally:
        loop.close()


def max_in_window(times: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """The largest total admitted in any half-open 60 s window [t, t + 60)."""
    pairs = sorted(zip(times, weights or [1.0] * len(times), strict=True))
    at = [t for t, _ in pairs]
    sums = [0.0]
    for _, w in pairs:
        sums.append(sums[-1] + w)
    return max(
        (sums[bisect.bisect_left(at, t + 60.0 - 1e-6)] - sums[i] for i, t in enumerate(at)),
        default=0.0,
    )


async def _caller(
    gate: RateGate, tokens: int, admitted: list[tuple[float, int]], hold: float = 0.0
) -> float:
    async with gate.slot(MODEL, tokens) as ticket:
        admitted.append((asyncio.get_running_loop().time(), tokens))
        await asyncio.sleep(hold)
        return ticket.queued_s


def test_concurrent_callers_never_exceed_the_rpm_in_any_minute() -> None:
    async def main(gate: RateGate) -> tuple[list[tuple[float, int]], float]:
        admitted: list[tuple[float, int]] = []
        await asyncio.gather(*(_caller(gate, 10, admitted, hold=0.5) for _ in range(200)))
        return admitted, asyncio.get_running_loop().time()

    admitted, end = run_virtual(main, limits={MODEL: ModelLimits(rpm=60)})
    assert len(admitted) == 200
    assert max_in_window([t for t, _ in admitted]) == 60
    # a full minute at once, then the next as the window frees: the last batch at t=180
    assert 180.0 <= end <= 181.0


def test_tokens_per_minute_hold_with_uneven_sizes() -> None:
    rng = random.Random(7)
    sizes = [rng.choice([50, 300, 1_200, 4_000]) for _ in range(120)]

    async def main(gate: RateGate) -> list[tuple[float, int]]:
        admitted: list[tuple[float, int]] = []
        await asyncio.gather(*(_caller(gate, size, admitted) for size in sizes))
        return admitted

    admitted = run_virtual(main, limits={MODEL: ModelLimits(tpm=10_000)})
    times = [t for t, _ in admitted]
    assert max_in_window(times, [float(n) for n in sizes_of(admitted)]) <= 10_000
    # the allowance is used: each minute lets through all but less than one largest request
    assert max(times) <= 60.0 * math.ceil(sum(sizes) / (10_000 - max(sizes)))


def sizes_of(admitted: list[tuple[float, int]]) -> list[int]:
    return [n for _, n in admitted]


def test_admission_is_first_in_first_out_and_a_big_request_is_not_starved() -> None:
    async def main(gate: RateGate) -> tuple[list[int], float]:
        order: list[int] = []

        async def one(index: int, tokens: int, arrive: float) -> float:
            await asyncio.sleep(arrive)
            async with gate.slot(MODEL, tokens) as ticket:
                order.append(index)
                return ticket.queued_s

        small = [one(i, 100, i * 0.5) for i in range(40)]
        big = one(99, 900, 3.25)  # arrives behind six small ones, before the rest
        waits = await asyncio.gather(big, *small)
        return order, waits[0]

    order, big_wait = run_virtual(main, limits={MODEL: ModelLimits(tpm=1_000)})
    assert order.index(99) == 7  # after the seven that arrived before it, before the others
    assert order[:7] == list(range(7))
    assert order[8:] == list(range(7, 40))
    # at the head it waits at most one window for its tokens to fit
    assert 0.0 < big_wait <= 60.0


def test_a_429_pauses_the_model_lowers_its_rate_and_it_recovers() -> None:
    async def main(gate: RateGate) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        admitted: list[tuple[float, int]] = []
        for _ in range(10):
            await _caller(gate, 1, admitted)
        pause = gate.throttled(MODEL, 5.0)
        lowered = gate.rate_factor(MODEL)
        gate.throttled(MODEL, 1.0)  # no decrease, no shorter pause: already paused
        still = gate.rate_factor(MODEL)
        await _caller(gate, 1, admitted)
        resumed = admitted[-1][0]
        await asyncio.gather(*(_caller(gate, 1, admitted) for _ in range(200)))
        return {
            "pause": pause,
            "lowered": lowered,
            "still": still,
            "resumed": resumed,
            "admitted": admitted,
            "factor": gate.rate_factor(MODEL),
            "end": loop.time(),
        }

    out = run_virtual(main, limits={MODEL: ModelLimits(rpm=60)})
    assert out["pause"] == pytest.approx(5.0)
    assert out["lowered"] == pytest.approx(0.8)
    assert out["still"] == pytest.approx(0.8)
    assert out["resumed"] == pytest.approx(5.0)
    times = [t for t, _ in out["admitted"]]
    # right after the 429 at most 48 (0.8 x 60) in the window, the ten before included
    assert max_in_window([t for t in times if t < 65.0]) <= 48
    assert max_in_window(times) <= 60
    # recovery: +0.1 a quiet minute, back to the configured rate and no further
    assert out["factor"] == pytest.approx(1.0)


def test_a_429_without_retry_after_pauses_exponentially() -> None:
    store = MemoryBucketStore()
    aimd = Aimd(first_pause_s=1.0, max_pause_s=60.0)
    pauses = [store.throttle(MODEL, None, 100.0 * i, aimd) - 100.0 * i for i in range(3)]
    assert pauses == [1.0, 2.0, 4.0]
    assert store.factor(MODEL) == pytest.approx(0.8**3)
    for _ in range(30):
        store.throttle(MODEL, None, 10_000.0, aimd)
    assert store.factor(MODEL) == pytest.approx(0.8**4)  # one decrease per pause
    assert store.throttle(MODEL, None, 10_000.0, aimd) <= 10_000.0 + 60.0


def test_settle_refunds_and_debits_the_token_bucket() -> None:
    async def main(gate: RateGate) -> tuple[float, float, float]:
        loop = asyncio.get_running_loop()
        async with gate.slot(MODEL, 800) as ticket:
            ticket.settle(100)
        start = loop.time()
        async with gate.slot(MODEL, 800) as ticket:
            refunded = loop.time() - start
            ticket.settle(950)  # a debit: the minute is now over-spent
        start = loop.time()
        async with gate.slot(MODEL, 100):
            debited = loop.time() - start
        async with gate.slot(MODEL, 500) as ticket:
            ticket.settle(0)  # refused by the server: nothing used
        return refunded, debited, loop.time()

    refunded, debited, _ = run_virtual(main, limits={MODEL: ModelLimits(tpm=1_000)})
    assert refunded == 0.0
    assert debited >= 59.0  # the first refund plus the debit fill the window until t=60


def test_the_concurrency_cap_holds() -> None:
    async def main(gate: RateGate) -> int:
        active = peak = 0

        async def one() -> None:
            nonlocal active, peak
            async with gate.slot(MODEL, 1):
                active += 1
                peak = max(peak, active)
                await asyncio.sleep(1.0)
                active -= 1

        await asyncio.gather(*(one() for _ in range(20)))
        return peak

    assert run_virtual(main, limits={MODEL: ModelLimits(max_concurrency=3)}) == 3


def test_a_cancelled_waiter_leaves_the_queue() -> None:
    async def main(gate: RateGate) -> list[str]:
        order: list[str] = []

        async def one(name: str) -> None:
            async with gate.slot(MODEL, 1):
                order.append(name)
                await asyncio.sleep(1.0)

        first = asyncio.ensure_future(one("a"))
        await asyncio.sleep(0)
        doomed = asyncio.ensure_future(one("b"))
        last = asyncio.ensure_future(one("c"))
        await asyncio.sleep(0.1)
        doomed.cancel()
        await asyncio.gather(first, last)
        return order

    assert run_virtual(main, limits={MODEL: ModelLimits(max_concurrency=1)}) == ["a", "c"]


def test_the_token_estimate_is_a_quarter_of_the_json_plus_the_output() -> None:
    request = ModelRequest(model=MODEL, input=[{"role": "user", "content": "x" * 4_000}])
    estimate = estimate_request_tokens(request)
    assert 1_000 + DEFAULT_OUTPUT_ALLOWANCE < estimate < 1_020 + DEFAULT_OUTPUT_ALLOWANCE
    capped = ModelRequest(model=MODEL, input=request.input, max_output_tokens=50)
    assert estimate_request_tokens(capped) == estimate - DEFAULT_OUTPUT_ALLOWANCE + 50


def test_the_process_gate_is_one_per_loop_and_shares_the_allowance() -> None:
    model = "process-gate-test-model"

    async def first() -> tuple[bool, float]:
        gate = RateGate.for_process()
        gate.set_limits(model, ModelLimits(rpm=2))
        for _ in range(2):
            async with gate.slot(model, 1):
                pass
        return gate is RateGate.for_process(), gate.throttled(model, None)

    async def second() -> float:
        gate = RateGate.for_process()
        # the first loop spent both requests of this minute and a 429 paused the model
        assert gate.limits(model) == ModelLimits(rpm=2)
        return gate.rate_factor(model)

    same, pause = asyncio.run(first())
    assert same
    assert pause > 0.0
    assert asyncio.run(second()) == pytest.approx(0.8)


def test_two_sqlite_stores_on_one_file_never_overspend(tmp_path: Path) -> None:
    path = tmp_path / "buckets.db"
    one, two = SqliteBucketStore(path), SqliteBucketStore(path)
    limits, aimd = ModelLimits(rpm=10, tpm=1_000), Aimd()
    granted = 0
    for i in range(40):
        store = one if i % 2 else two
        if store.acquire(MODEL, f"t{i}", 50, 0.0 + i * 0.01, limits, aimd) == 0.0:
            granted += 1
    assert granted == 10
    wait = one.acquire(MODEL, "late", 50, 1.0, limits, aimd)
    assert 58.0 < wait <= 60.0
    two.throttle(MODEL, 3.0, 70.0, aimd)
    assert one.factor(MODEL) == pytest.approx(0.8)
    assert one.acquire(MODEL, "paused", 50, 71.0, limits, aimd) == pytest.approx(2.0)
    one.close()
    two.close()


SPEEDUP = 60.0
"""Seconds of the gate's clock per real second in the multi-process test."""


def _worker(path: str, seconds: float, out: Any) -> None:
    try:
        _work(path, seconds, out)
    except BaseException as exc:
        out.put(repr(exc))
        raise


def _work(path: str, seconds: float, out: Any) -> None:
    store = SqliteBucketStore(path)
    gate = RateGate(
        {MODEL: ModelLimits(rpm=20)},
        store=store,
        clock=lambda: time.monotonic() * SPEEDUP,
        sleep=lambda s: asyncio.sleep(s / SPEEDUP),
    )

    async def main() -> list[float]:
        admitted: list[float] = []
        deadline = time.monotonic() + seconds

        async def caller() -> None:
            while time.monotonic() < deadline:
                async with gate.slot(MODEL, 1) as ticket:
                    admitted.append(ticket.admitted_at)

        await asyncio.wait_for(asyncio.gather(*(caller() for _ in range(4))), seconds + 10)
        return admitted

    out.put(asyncio.run(main()))
    store.close()


def test_the_sqlite_store_holds_the_combined_rate_of_two_processes(tmp_path: Path) -> None:
    import multiprocessing

    context = multiprocessing.get_context("fork")
    out = context.Queue()
    path = str(tmp_path / "shared.db")
    workers = [context.Process(target=_worker, args=(path, 2.5, out)) for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert all(isinstance(r, list) for r in results), results
    times = results[0] + results[1]
    assert min(len(r) for r in results) > 0  # both processes got a share
    assert max_in_window(times) <= 20
    # 2.5 real s = 150 s of the gate's clock: the first minute, then two more refills
    assert len(times) >= 40


arrivals = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=30.0),  # gap before the next arrival
        st.integers(min_value=1, max_value=2_000),  # estimated tokens
        st.floats(min_value=0.0, max_value=20.0),  # how long it holds its slot
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None)
@given(
    pattern=arrivals,
    rpm=st.integers(min_value=1, max_value=15),
    burst=st.sampled_from([0.25, 1.0, 2.0]),
)
def test_no_arrival_pattern_gets_more_than_the_limit_into_a_window(
    pattern: list[tuple[float, int, float]], rpm: int, burst: float
) -> None:
    tpm = 4_000

    async def main(gate: RateGate) -> list[tuple[float, int]]:
        admitted: list[tuple[float, int]] = []

        async def one(at: float, tokens: int, hold: float) -> None:
            await asyncio.sleep(at)
            await _caller(gate, tokens, admitted, hold)

        starts = [0.0]
        for gap, _, _ in pattern:
            starts.append(starts[-1] + gap)
        await asyncio.gather(
            *(one(at, n, hold) for at, (_, n, hold) in zip(starts, pattern, strict=False))
        )
        return admitted

    limits = ModelLimits(rpm=rpm, tpm=tpm, max_concurrency=5, burst=burst)
    admitted = run_virtual(main, limits={MODEL: limits})
    assert len(admitted) == len(pattern)
    times = [t for t, _ in admitted]
    assert max_in_window(times) <= rpm
    charged = [float(min(n, tpm * min(burst, 1.0))) for _, n in admitted]
    assert max_in_window(times, charged) <= tpm + 1e-6


def test_the_rate_recovers_additively_per_quiet_minute_and_never_passes_the_limit() -> None:
    store, aimd = MemoryBucketStore(), Aimd()
    limits = ModelLimits(rpm=100)
    store.throttle(MODEL, 0.0, 0.0, aimd)
    store.throttle(MODEL, 0.0, 0.5, aimd)  # unpaused again (Retry-After 0): lowers again
    factors = []
    for now in (59.0, 61.0, 121.0, 181.0, 1_000.0):
        store.acquire(MODEL, f"t{now}", 1, now, limits, aimd)
        factors.append(store.factor(MODEL))
    assert factors == pytest.approx([0.64, 0.74, 0.84, 0.94, 1.0])


def test_a_request_larger_than_the_minute_is_let_through_alone() -> None:
    async def main(gate: RateGate) -> list[float]:
        loop = asyncio.get_running_loop()
        times: list[float] = []
        for tokens in (300, 5_000, 300):
            async with gate.slot(MODEL, tokens):
                times.append(loop.time())
        return times

    times = run_virtual(main, limits={MODEL: ModelLimits(tpm=1_000)})
    assert times[0] == 0.0
    assert times[1] == pytest.approx(60.0)  # charged one minute: waits for an empty window
    assert times[2] == pytest.approx(120.0)


def test_a_stale_clock_reading_still_sees_what_another_process_spent(tmp_path: Path) -> None:
    path = tmp_path / "buckets.db"
    ahead, behind = SqliteBucketStore(path), SqliteBucketStore(path)
    limits, aimd = ModelLimits(rpm=1), Aimd()
    assert ahead.acquire(MODEL, "a", 1, 100.8, limits, aimd) == 0.0
    ahead.settle(MODEL, "a", 0, 161.0, limits, aimd)  # at 161, "a" is a minute old
    # a process whose reading (160.5) was taken before that transaction: "a" still counts
    assert behind.acquire(MODEL, "c", 1, 160.5, limits, aimd) == pytest.approx(0.3)
    ahead.close()
    behind.close()
