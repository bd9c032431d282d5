"""`RateGate`: requests wait their turn for a model's allowance instead of failing.

```python
gate = RateGate({"grok-4": ModelLimits(rpm=480, tpm=2_000_000, max_concurrency=32)})
async with gate.slot("grok-4", estimate_request_tokens(request)) as ticket:
    response = await send(request)            # ticket.queued_s: seconds spent waiting
    ticket.settle(response.usage.total_tokens)  # the real usage replaces the estimate
```

Each model has one first-in-first-out queue: only its head may be admitted, and it is
admitted once the request and its estimated tokens fit the model's allowance
(`agentkit.model.rate_buckets`) and a concurrency slot is free. Nobody overtakes, so a
large request is never starved by small ones: once at the head it waits at most until
its tokens fit, which is at most one window (60 s) plus any 429 pause, and a request
larger than a minute's allowance is charged one minute's allowance. The head sleeps
exactly until it could fit, or until something frees capacity sooner (a slot released,
a refund); the others wait on an event, so nothing polls.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import ClassVar

from agentkit.model.rate_buckets import Aimd, BucketStore, MemoryBucketStore, ModelLimits
from agentkit.model.types import ModelRequest

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]

DEFAULT_OUTPUT_ALLOWANCE = 1_000
"""Output tokens assumed for a request that does not set `max_output_tokens`."""
UNLIMITED = ModelLimits()


def estimate_request_tokens(
    request: ModelRequest, *, output_allowance: int = DEFAULT_OUTPUT_ALLOWANCE
) -> int:
    """Tokens `request` may use, estimated locally before it is sent.

    The input is its JSON (input items, instructions, tools) at four characters a token;
    the output is `max_output_tokens` when set, else `output_allowance`. Reasoning tokens
    are not bounded by `max_output_tokens`: settle the ticket with the real usage.
    """
    output = request.max_output_tokens
    return estimate_input_tokens(request) + (output if output is not None else output_allowance)


def estimate_input_tokens(request: ModelRequest) -> int:
    """The input tokens of `request` estimated locally: the JSON of its input items,
    instructions and tools at four characters a token."""
    text = json.dumps(
        [request.input, request.instructions, request.tools],
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return math.ceil(len(text) / 4)


@dataclass(slots=True)
class Ticket:
    """One admitted request: how long it queued, and the correction of its charge."""

    model: str
    id: str
    estimated_tokens: int
    queued_s: float
    """Seconds between asking for the slot and being admitted."""
    _gate: RateGate = field(repr=False)
    admitted_at: float = 0.0
    """The gate's clock when the allowance was charged."""
    _charged: float = field(repr=False, default=0.0)

    def settle(self, actual_tokens: int) -> None:
        """Replace the charge with what the request really used (a refund or a debit);
        0 for a request the server refused. Settling again replaces the previous value."""
        delta = actual_tokens - self._charged
        self._charged = float(actual_tokens)
        if delta:
            self._gate._settle(self, delta)


@dataclass(slots=True)
class _Lane:
    """One model's queue and its requests in flight, in one event loop."""

    queue: deque[asyncio.Event] = field(default_factory=deque)
    in_flight: int = 0

    def kick(self) -> None:
        """Wake the head of the queue to look again."""
        if self.queue:
            self.queue[0].set()


_counter = itertools.count()


class RateGate:
    """Admission control in front of the model API, for one event loop.

    `limits` maps a model name to its `ModelLimits`; `default` applies to the others
    (unlimited unless given: such a model still pauses after a 429). `store` holds the
    allowances: a `MemoryBucketStore` by default, a `SqliteBucketStore` to share them
    with other processes. `clock` and `sleep` are injectable for simulations: `clock`
    must agree with `sleep` and, with a shared store, across processes.
    """

    _per_loop: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RateGate]] = (
        weakref.WeakKeyDictionary()
    )
    _process_limits: ClassVar[dict[str, ModelLimits]] = {}
    _process_store: ClassVar[MemoryBucketStore] = MemoryBucketStore()

    def __init__(
        self,
        limits: Mapping[str, ModelLimits] | None = None,
        *,
        default: ModelLimits = UNLIMITED,
        store: BucketStore | None = None,
        aimd: Aimd | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._limits: dict[str, ModelLimits] = dict(limits or {})
        self._default = default
        self._store: BucketStore = store if store is not None else MemoryBucketStore()
        self._aimd = aimd or Aimd()
        self._clock = clock
        self._sleep = sleep
        self._lanes: dict[str, _Lane] = {}
        self._prefix = f"{os.getpid()}-{id(self):x}-"

    @classmethod
    def for_process(cls) -> RateGate:
        """The gate every run in this process shares, one per event loop.

        Queues and concurrency slots belong to a loop (asyncio primitives do), so each
        loop gets its own gate; the allowances and the limits are the process's, shared
        by all of them, so a second `run_sync` (a new loop) still sees what the first
        spent. Must be called inside a running loop. Set limits with `set_limits`.
        """
        loop = asyncio.get_running_loop()
        gate = cls._per_loop.get(loop)
        if gate is None:
            gate = cls(store=cls._process_store)
            gate._limits = cls._process_limits
            cls._per_loop[loop] = gate
        return gate

    def set_limits(self, model: str, limits: ModelLimits) -> None:
        """Configure `model` (for a process gate: in every loop of the process)."""
        self._limits[model] = limits

    def limits(self, model: str) -> ModelLimits:
        """The limits `model` is held to."""
        return self._limits.get(model, self._default)

    def rate_factor(self, model: str) -> float:
        """The fraction of its configured rate `model` is allowed after 429s (1.0: all)."""
        return self._store.factor(model)

    def throttled(self, model: str, retry_after: float | None) -> float:
        """Note that `model` answered 429; return the seconds until requests resume.

        The model is paused until `retry_after` (or an exponential default) and its
        effective rate drops (see `Aimd`); it recovers each minute without a 429.
        """
        now = self._clock()
        return max(self._store.throttle(model, retry_after, now, self._aimd) - now, 0.0)

    @asynccontextmanager
    async def slot(self, model: str, estimated_tokens: int) -> AsyncIterator[Ticket]:
        """Wait for `model`'s turn and allowance; the slot is held until the block ends."""
        limits = self.limits(model)
        lane = self._lanes.setdefault(model, _Lane())
        ticket = Ticket(model, f"{self._prefix}{next(_counter)}", estimated_tokens, 0.0, self)
        asked = self._clock()
        ticket.admitted_at = await self._admit(lane, ticket, limits)
        ticket._charged = float(estimated_tokens)
        ticket.queued_s = max(ticket.admitted_at - asked, 0.0)
        try:
            yield ticket
        finally:
            lane.in_flight -= 1
            lane.kick()

    async def _admit(self, lane: _Lane, ticket: Ticket, limits: ModelLimits) -> float:
        """Wait for the turn and the allowance; return the clock reading it was charged at."""
        turn = asyncio.Event()
        lane.queue.append(turn)
        try:
            while True:
                wait: float | None = None
                if lane.queue[0] is turn and (
                    limits.max_concurrency is None or lane.in_flight < limits.max_concurrency
                ):
                    now = self._clock()
                    wait = self._store.acquire(
                        ticket.model, ticket.id, ticket.estimated_tokens, now, limits, self._aimd
                    )
                    if wait <= 0.0:
                        lane.in_flight += 1
                        return now
                turn.clear()
                await self._wait(turn, wait)
        finally:
            lane.queue.remove(turn)
            lane.kick()

    async def _wait(self, turn: asyncio.Event, seconds: float | None) -> None:
        """Until `turn` is set, or `seconds` (None: no limit) have passed."""
        if seconds is None:
            await turn.wait()
            return
        # the floor keeps float rounding from waking the head a hair early, over and over
        timer = asyncio.ensure_future(self._sleep(max(seconds, 1e-3)))
        woken = asyncio.ensure_future(turn.wait())
        try:
            await asyncio.wait({timer, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            woken.cancel()

    def _settle(self, ticket: Ticket, delta: float) -> None:
        limits = self.limits(ticket.model)
        self._store.settle(ticket.model, ticket.id, delta, self._clock(), limits, self._aimd)
        if delta < 0:
            lane = self._lanes.get(ticket.model)
            if lane is not None:
                lane.kick()
