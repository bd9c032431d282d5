"""The per-minute rate window: each principal's call times, read lazily, one key at a time.

A decision sees the window as a mapping from rate key (a tool's name, or a class's
``class_key``) to the times of calls in the last minute. Reading only the keys a limit
names keeps a decision's cost independent of how many calls the principal made: a
service running thousands of runs for one principal would otherwise copy every one of
their call times into every decision.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

RATE_WINDOW_SECONDS = 60.0


class RateWindow(Protocol):
    """Per principal and tool, the times of calls in the last minute, across runs and agents:
    what per-minute rate limits count. `RecentCalls` keeps it in this process;
    `agentkit.rate_store.SqliteRateWindow` shares it between processes."""

    def add(self, user_id: str, tool: str, at: float) -> None: ...

    def snapshot(self, user_id: str, now: float) -> Mapping[str, tuple[float, ...]]: ...


class WindowView(Mapping[str, tuple[float, ...]]):
    """The window of one principal as of one instant, read key by key when asked.

    Each value holds the times in ``[now - window, now]`` noted before the view was made,
    so calls noted after it (even at the same instant) never appear in it: reading it
    later reads the same window, for a minute after it was made (a decision reads it at
    once). Values are read once and kept.
    """

    __slots__ = ("_keys", "_read", "_seen")

    def __init__(
        self, keys: Callable[[], Iterator[str]], read: Callable[[str], tuple[float, ...]]
    ) -> None:
        self._keys = keys
        self._read = read
        self._seen: dict[str, tuple[float, ...]] = {}

    def __getitem__(self, key: str) -> tuple[float, ...]:
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = self._read(key)
        if not found:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[str]:
        return (key for key in self._keys() if key in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __repr__(self) -> str:
        return f"WindowView({dict(self)!r})"


class _Times:
    """One key's call times, oldest first, and how many were ever noted."""

    __slots__ = ("added", "times")

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.added = 0


class RecentCalls:
    """The rate window of one process (thread-safe), indexed by principal.

    Noting a call drops that key's times older than two windows, so memory stays bounded
    by the calls of the last two minutes whether or not anything reads them.
    """

    def __init__(self, window: float = RATE_WINDOW_SECONDS) -> None:
        self._window = window
        self._calls: dict[str, dict[str, _Times]] = {}
        self._lock = threading.Lock()

    def add(self, user_id: str, tool: str, at: float) -> None:
        # two windows: a view made up to a minute before this call still finds its times
        horizon = at - 2 * self._window
        with self._lock:
            entry = self._calls.setdefault(user_id, {}).get(tool)
            if entry is None:
                entry = self._calls[user_id][tool] = _Times()
            times = entry.times
            while times and times[0] < horizon:
                times.popleft()
            times.append(at)
            entry.added += 1

    def clear(self) -> None:
        """Forget every call (for tests that need a fresh minute)."""
        with self._lock:
            self._calls.clear()

    def snapshot(self, user_id: str, now: float) -> WindowView:
        """The window as of now: how many calls each key had is noted here (one number per
        tool and class), so calls noted later stay out of it even at the same instant."""
        horizon = now - self._window
        with self._lock:
            keys = self._calls.get(user_id, {})
            marks = {key: entry.added for key, entry in keys.items()}

        def read(key: str) -> tuple[float, ...]:
            mark = marks.get(key)
            if mark is None:
                return ()
            with self._lock:
                entry = keys[key]
                later = entry.added - mark
                times = list(entry.times)
            if later:
                del times[-later:]
            return tuple(t for t in times if horizon <= t <= now)

        return WindowView(lambda: iter(marks), read)


PROCESS_RATE_WINDOW = RecentCalls()
"""The window of every runner in this process that was given none: a new Agent object (or
each run_sync) does not start a fresh minute."""
