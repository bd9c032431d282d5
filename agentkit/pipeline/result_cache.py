"""Kept results of read tools (``tools.<name>.cache`` in the policy).

A result is kept under the principal's scope, the tool and its normalised arguments, so
one user's result never answers another's call unless the policy marks the tool's
results shared. A kept result is the tool's outcome as it ran - its text, its untrusted
label, its structure and citations - so labels and provenance read it as before. Only
results that succeeded are kept; only read tools' results are ever kept.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from agentkit.canonical import sha256_of
from agentkit.decision import Principal
from agentkit.pipeline.execute import ToolOutcome

MAX_ENTRIES = 10_000


def cache_key(principal: Principal, tool: str, arguments: Mapping[str, Any], shared: bool) -> str:
    """The key of a call's result: who (unless shared), which tool, which arguments."""
    scope: Any = "shared" if shared else [principal.workspace, principal.user_id]
    return sha256_of([scope, tool, dict(arguments)])


class ResultCache:
    """Results kept in memory for their time to live, at most `max_entries` (the oldest
    go first). Thread-safe: sync tools run in threads."""

    def __init__(
        self, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, ToolOutcome]] = OrderedDict()
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, key: str) -> ToolOutcome | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            expires, outcome = found
            if self._clock() >= expires:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return outcome

    def put(self, key: str, outcome: ToolOutcome, ttl: float) -> None:
        if outcome.outcome != "ok":
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl, outcome)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


PROCESS_RESULT_CACHE = ResultCache()
"""The cache every runner of a process shares unless given its own."""
