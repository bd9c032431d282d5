"""Per-model request and token allowances: the arithmetic, kept in memory or in SQLite.

Each model has two dimensions, requests per minute and tokens per minute, and each
dimension two constraints, both of which must hold for a request to be let through:

* a token bucket that refills continuously at a minute's allowance per 60 s, holding
  at most ``burst`` minutes' worth (one minute's by default);
* a sliding ledger of what was spent in the last 60 s, which may never pass the
  minute's allowance. A full bucket plus one minute's refill would otherwise let twice
  the limit through in one window; the ledger is what makes "never more than the limit
  in any 60 s" hold, the bucket is what smooths bursts when ``burst`` is below 1.

Learning from 429s (AIMD, see `Aimd`): a 429 pauses the model until its Retry-After
(or an exponential default) and multiplies its effective rate by ``decrease``; each
minute without a 429 adds back ``increase`` of the configured rate, never above it.

`MemoryBucketStore` keeps the state for one process; `SqliteBucketStore` keeps it in a
file that several processes on one host share, each operation one ``BEGIN IMMEDIATE``
transaction so two processes never spend the same allowance. A store shared by hosts
(Redis and the like) is out of scope.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

WINDOW_S = 60.0
"""The limits are per minute."""


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """What one model may be sent: None leaves a dimension unlimited."""

    rpm: int | None = None
    """Requests per minute."""
    tpm: int | None = None
    """Tokens per minute (input and output, as estimated before sending)."""
    max_concurrency: int | None = None
    """Requests in flight at once (per event loop)."""
    burst: float = 1.0
    """Bucket capacity, in minutes of allowance; below 1 spreads a minute's spending out."""


@dataclass(frozen=True, slots=True)
class Aimd:
    """How a 429 lowers a model's effective rate and how the rate recovers."""

    decrease: float = 0.8
    """Factor applied to the effective rate on a 429 that finds the model unpaused."""
    increase: float = 0.1
    """Fraction of the configured rate added back per minute without a 429."""
    floor: float = 0.1
    """The effective rate never drops below this fraction of the configured one."""
    first_pause_s: float = 1.0
    """Pause after a 429 without Retry-After; it doubles on each 429 in a row."""
    max_pause_s: float = 60.0


@dataclass(slots=True)
class Spend:
    """One admitted request in the ledger."""

    ticket: str
    at: float
    tokens: float


@dataclass(slots=True)
class BucketState:
    """One model's allowance at `updated`; pure arithmetic, no I/O."""

    updated: float
    requests: float = math.inf
    """Request-bucket level (inf until the first refill sets it to capacity)."""
    tokens: float = math.inf
    factor: float = 1.0
    """Effective fraction of the configured rate (AIMD)."""
    factor_at: float = 0.0
    """When `factor` last changed; recovery counts whole minutes from here."""
    paused_until: float = 0.0
    strikes: int = 0
    """429s in a row without a quiet minute between: the default pause doubles with each."""
    ledger: deque[Spend] = field(default_factory=deque)

    def advance(self, now: float, limits: ModelLimits, aimd: Aimd) -> None:
        """Refill the buckets, recover the rate and forget spending older than the window."""
        quiet = math.floor((now - self.factor_at) / WINDOW_S) if now >= self.paused_until else 0
        if quiet >= 1:
            self.factor = min(1.0, self.factor + aimd.increase * quiet)
            self.factor_at += quiet * WINDOW_S
            self.strikes = 0
        elapsed = max(now - self.updated, 0.0)
        self.updated = max(now, self.updated)
        self.requests = _refill(self.requests, elapsed, limits.rpm, self.factor, limits.burst)
        self.tokens = _refill(self.tokens, elapsed, limits.tpm, self.factor, limits.burst)
        # Spending is kept a second window: a reading of the clock taken a moment before
        # another thread's or process's (the lock is taken after reading it) must still
        # see what that one spent.
        while self.ledger and self.ledger[0].at <= now - 2 * WINDOW_S:
            self.ledger.popleft()

    def wait(self, now: float, cost: float, limits: ModelLimits) -> float:
        """Seconds until one request of `cost` tokens fits (0: it fits now); after `advance`."""
        waits = [self.paused_until - now]
        recent = [spend for spend in self.ledger if spend.at > now - WINDOW_S]
        if limits.rpm is not None:
            waits.append(self._bucket_wait(self.requests, 1.0, limits.rpm, limits.burst))
            waits.append(self._window_wait(recent, now, 1.0, limits.rpm, by_tokens=False))
        if limits.tpm is not None:
            size = self.clamp(cost, limits)
            waits.append(self._bucket_wait(self.tokens, size, limits.tpm, limits.burst))
            waits.append(self._window_wait(recent, now, size, limits.tpm, by_tokens=True))
        return max(max(waits), 0.0)

    def clamp(self, cost: float, limits: ModelLimits) -> float:
        """A cost the allowance can ever hold: a request larger than the effective minute's
        allowance (or the bucket) is charged that much and let through alone."""
        if limits.tpm is None:
            return cost
        allowance = limits.tpm * self.factor
        return min(cost, allowance, allowance * limits.burst)

    def take(self, now: float, ticket: str, cost: float, limits: ModelLimits) -> Spend:
        """Charge one request (after `wait` returned 0)."""
        size = self.clamp(cost, limits)
        if limits.rpm is not None:
            self.requests -= min(1.0, limits.rpm * self.factor * limits.burst)
        if limits.tpm is not None:
            self.tokens -= size
        spend = Spend(ticket, now, size)
        self.ledger.append(spend)
        return spend

    def correct(self, ticket: str, delta: float, limits: ModelLimits) -> Spend | None:
        """Debit (`delta` > 0) or refund what a request really used; its ledger entry too."""
        if limits.tpm is not None:
            capacity = limits.tpm * self.factor * limits.burst
            self.tokens = min(self.tokens - delta, capacity)
        for spend in self.ledger:
            if spend.ticket == ticket:
                spend.tokens = max(spend.tokens + delta, 0.0)
                return spend
        return None

    def throttle(self, now: float, retry_after: float | None, aimd: Aimd) -> float:
        """Note a 429; return when the pause ends. Only a 429 that finds the model unpaused
        lowers the rate: the other requests already in flight answer 429 for the same cause."""
        self.strikes += 1
        pause = retry_after
        if pause is None:
            pause = min(aimd.first_pause_s * 2.0 ** (self.strikes - 1), aimd.max_pause_s)
        if now >= self.paused_until:
            self.factor = max(self.factor * aimd.decrease, aimd.floor)
            self.factor_at = now
        self.paused_until = max(self.paused_until, now + pause)
        self.factor_at = max(self.factor_at, self.paused_until)
        return self.paused_until

    def _bucket_wait(self, level: float, cost: float, limit: int, burst: float) -> float:
        cost = min(cost, limit * self.factor * burst)
        if level >= cost:
            return 0.0
        rate = limit * self.factor / WINDOW_S
        return (cost - level) / rate

    def _window_wait(
        self, recent: list[Spend], now: float, cost: float, limit: int, *, by_tokens: bool
    ) -> float:
        allowance = limit * self.factor
        spent = [s.tokens if by_tokens else 1.0 for s in recent]
        excess = sum(spent) + cost - allowance
        if excess <= 1e-9:
            return 0.0
        for spend, amount in zip(recent, spent, strict=True):
            excess -= amount
            if excess <= 1e-9:
                return spend.at + WINDOW_S - now
        return WINDOW_S


def _refill(level: float, elapsed: float, limit: int | None, factor: float, burst: float) -> float:
    if limit is None:
        return math.inf
    capacity = limit * factor * burst
    return min(level + elapsed * limit * factor / WINDOW_S, capacity)


class BucketStore(Protocol):
    """Where the allowances live: one process's memory, or a file several processes share."""

    def acquire(
        self, model: str, ticket: str, cost: float, now: float, limits: ModelLimits, aimd: Aimd
    ) -> float:
        """Charge one request of `cost` tokens and return 0, or return the seconds to wait."""
        ...

    def settle(
        self, model: str, ticket: str, delta: float, now: float, limits: ModelLimits, aimd: Aimd
    ) -> None:
        """Correct an admitted request's charge by `delta` tokens (negative: a refund)."""
        ...

    def throttle(self, model: str, retry_after: float | None, now: float, aimd: Aimd) -> float:
        """Note a 429 for `model`; return the time its pause ends."""
        ...

    def factor(self, model: str) -> float:
        """The model's effective fraction of its configured rate, as last computed."""
        ...


class MemoryBucketStore:
    """The allowances of one process, safe to share between threads and event loops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, BucketState] = {}

    def _state(self, model: str, now: float) -> BucketState:
        state = self._states.get(model)
        if state is None:
            state = self._states[model] = BucketState(updated=now, factor_at=now)
        return state

    def acquire(
        self, model: str, ticket: str, cost: float, now: float, limits: ModelLimits, aimd: Aimd
    ) -> float:
        with self._lock:
            state = self._state(model, now)
            state.advance(now, limits, aimd)
            wait = state.wait(now, cost, limits)
            if wait <= 0.0:
                state.take(now, ticket, cost, limits)
            return wait

    def settle(
        self, model: str, ticket: str, delta: float, now: float, limits: ModelLimits, aimd: Aimd
    ) -> None:
        with self._lock:
            state = self._state(model, now)
            state.advance(now, limits, aimd)
            state.correct(ticket, delta, limits)

    def throttle(self, model: str, retry_after: float | None, now: float, aimd: Aimd) -> float:
        with self._lock:
            return self._state(model, now).throttle(now, retry_after, aimd)

    def factor(self, model: str) -> float:
        with self._lock:
            state = self._states.get(model)
            return 1.0 if state is None else state.factor


_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    model TEXT PRIMARY KEY, updated REAL NOT NULL, requests REAL, tokens REAL,
    factor REAL NOT NULL, factor_at REAL NOT NULL, paused_until REAL NOT NULL,
    strikes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS spent (
    model TEXT NOT NULL, ticket TEXT NOT NULL, at REAL NOT NULL, tokens REAL NOT NULL,
    PRIMARY KEY (model, ticket));
CREATE INDEX IF NOT EXISTS spent_by_time ON spent (model, at);
"""


class SqliteBucketStore:
    """The allowances in one SQLite file (0600) shared by the processes of one host.

    Every operation reads, computes and writes inside one ``BEGIN IMMEDIATE``
    transaction, so the arithmetic is serialised across processes. The times passed in
    must come from a clock the processes share (`time.monotonic` is host-wide on Linux,
    macOS and Windows; `time.time` works too). Each call is a short blocking transaction;
    under contention it waits up to `busy_timeout` seconds for the file's lock.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._prepare()

    def _prepare(self) -> None:
        # Switching to WAL takes an exclusive lock without waiting for it: processes
        # opening a new file together retry here instead of failing.
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                if self._db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self._db.execute("PRAGMA journal_mode=WAL")
                self._db.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        """Close the file (the store is unusable afterwards)."""
        with self._lock:
            self._db.close()

    def _load(self, model: str, now: float) -> BucketState:
        row = self._db.execute(
            "SELECT updated, requests, tokens, factor, factor_at, paused_until, strikes "
            "FROM buckets WHERE model = ?",
            (model,),
        ).fetchone()
        if row is None:
            return BucketState(updated=now, factor_at=now)
        horizon = now - 2 * WINDOW_S  # as `BucketState.advance` keeps them
        self._db.execute("DELETE FROM spent WHERE model = ? AND at <= ?", (model, horizon))
        ledger = deque(
            Spend(ticket, at, tokens)
            for ticket, at, tokens in self._db.execute(
                "SELECT ticket, at, tokens FROM spent WHERE model = ? ORDER BY at, rowid",
                (model,),
            )
        )
        updated, requests, tokens, factor, factor_at, paused_until, strikes = row
        return BucketState(
            updated, _inf(requests), _inf(tokens), factor, factor_at, paused_until, strikes, ledger
        )

    def _save(self, model: str, state: BucketState) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO buckets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                model,
                state.updated,
                _finite(state.requests),
                _finite(state.tokens),
                state.factor,
                state.factor_at,
                state.paused_until,
                state.strikes,
            ),
        )

    def _write_spend(self, model: str, spend: Spend | None) -> None:
        if spend is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO spent VALUES (?, ?, ?, ?)",
                (model, spend.ticket, spend.at, spend.tokens),
            )

    def acquire(
        self, model: str, ticket: str, cost: float, now: float, limits: ModelLimits, aimd: Aimd
    ) -> float:
        with self._lock, _immediate(self._db):
            state = self._load(model, now)
            state.advance(now, limits, aimd)
            wait = state.wait(now, cost, limits)
            if wait <= 0.0:
                self._write_spend(model, state.take(now, ticket, cost, limits))
            self._save(model, state)
            return wait

    def settle(
        self, model: str, ticket: str, delta: float, now: float, limits: ModelLimits, aimd: Aimd
    ) -> None:
        with self._lock, _immediate(self._db):
            state = self._load(model, now)
            state.advance(now, limits, aimd)
            self._write_spend(model, state.correct(ticket, delta, limits))
            self._save(model, state)

    def throttle(self, model: str, retry_after: float | None, now: float, aimd: Aimd) -> float:
        with self._lock, _immediate(self._db):
            state = self._load(model, now)
            until = state.throttle(now, retry_after, aimd)
            self._save(model, state)
            return until

    def factor(self, model: str) -> float:
        with self._lock:
            row = self._db.execute(
                "SELECT factor FROM buckets WHERE model = ?", (model,)
            ).fetchone()
        return 1.0 if row is None else float(row[0])


class _immediate:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an error)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _finite(level: float) -> float | None:
    """A bucket not yet filled (infinite) is stored as NULL: REAL has no portable infinity."""
    return None if math.isinf(level) else level


def _inf(level: float | None) -> float:
    return math.inf if level is None else level
