"""A small time-to-live cache: identical searches within the TTL get the same answer."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from agentkit.errors import ConfigError

V = TypeVar("V")

DEFAULT_MAX_ENTRIES = 256


class TTLCache(Generic[V]):
    """Entries expire ``ttl`` seconds after they were stored; the least recently used go first.

    Example:
        >>> cache: TTLCache[str] = TTLCache(60.0)
        >>> cache.put("asyncio timeout", "results")
        >>> cache.get("asyncio timeout")
        'results'

    Args:
        ttl: Seconds an entry stays fresh; 0 turns the cache off.
        clock: Monotonic seconds (injected in tests).
        max_entries: Entries kept at most.
    """

    def __init__(
        self,
        ttl: float,
        *,
        clock: Callable[[], float] | None = None,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        if ttl < 0:
            raise ConfigError(f"cache_ttl must be 0 (off) or positive, got {ttl}")
        if max_entries < 1:
            raise ConfigError(f"max_entries must be at least 1, got {max_entries}")
        self.ttl = ttl
        self._clock = clock or time.monotonic
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> V | None:
        """The fresh value stored under ``key``, or None (counted as a miss)."""
        if not self.enabled:
            return None
        found = self._entries.get(key)
        if found is None or self._clock() >= found[0]:
            self._entries.pop(key, None)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found[1]

    def put(self, key: str, value: V) -> None:
        """Store ``value`` until the TTL passes (nothing, when the cache is off)."""
        if not self.enabled:
            return
        self._entries[key] = (self._clock() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
