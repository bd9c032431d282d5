"""Per-user limits across runs, checked before a run starts: how many at once, how many a
minute, how much they may cost a day. A refusal is 429 with ``Retry-After``.

Each worker counts its own runs exactly and adds what the run store says the other
workers have (`Elsewhere`, refreshed every few seconds), so a user's limits hold across
workers up to that refresh."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from agentkit.decision import Principal

DAY = 86_400.0


@dataclass(frozen=True)
class UserLimits:
    """Limits per user and workspace; None is no limit."""

    concurrent_runs: int | None = 8
    runs_per_minute: int | None = 60
    cost_usd_per_day: float | None = None


@dataclass
class LimitRefused(Exception):
    """A run not started: which limit, and in how many seconds to try again."""

    message: str
    retry_after: int


@dataclass(frozen=True)
class Elsewhere:
    """What one user has on the other workers: runs going, runs started in the last
    minute, cost of the last day."""

    running: int = 0
    started_last_minute: int = 0
    cost_usd_today: float = 0.0


Key = tuple[str, str | None]


@dataclass
class UserCounters:
    """What each user has running and has run (in this process, plus `elsewhere`)."""

    limits: UserLimits
    clock: Callable[[], float] = time.monotonic
    elsewhere: dict[Key, Elsewhere] = field(default_factory=dict)
    """Set from the run store by the service (`RunStore.usage_elsewhere`)."""
    _running: dict[tuple[str, str | None], int] = field(default_factory=lambda: defaultdict(int))
    _starts: dict[tuple[str, str | None], deque[float]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    _spent: dict[tuple[str, str | None], deque[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(deque)
    )

    def admit(self, who: Principal) -> None:
        """Count a run about to start, or raise `LimitRefused` (nothing is counted then)."""
        key, now, limits = (who.user_id, who.workspace), self.clock(), self.limits
        other = self.elsewhere.get(key, Elsewhere())
        running = self._running[key] + other.running
        if limits.concurrent_runs is not None and running >= limits.concurrent_runs:
            raise LimitRefused(f"{limits.concurrent_runs} runs at once at most", 1)
        starts = self._starts[key]
        while starts and starts[0] <= now - 60:
            starts.popleft()
        started = len(starts) + other.started_last_minute
        if limits.runs_per_minute is not None and started >= limits.runs_per_minute:
            raise LimitRefused(
                f"{limits.runs_per_minute} runs a minute at most",
                int(starts[0] + 60 - now) + 1 if starts else 60,
            )
        spent = self._spent[key]
        while spent and spent[0][0] <= now - DAY:
            spent.popleft()
        if limits.cost_usd_per_day is not None:
            total = sum(cost for _, cost in spent) + other.cost_usd_today
            if total >= limits.cost_usd_per_day:
                raise LimitRefused(
                    f"spent ${total:.4f} of ${limits.cost_usd_per_day} today",
                    int(spent[0][0] + DAY - now) + 1 if spent else 3_600,
                )
        starts.append(now)
        self._running[key] += 1

    def track(self, who: Principal) -> None:
        """Count a run that continues (a resume after its decisions): never refused."""
        self._running[(who.user_id, who.workspace)] += 1

    def finished(self, who: Principal, cost_usd: float) -> None:
        """A run of `who` stopped (ended or paused) having cost `cost_usd` this time."""
        key = (who.user_id, who.workspace)
        self._running[key] = max(0, self._running[key] - 1)
        if cost_usd:
            self._spent[key].append((self.clock(), cost_usd))
