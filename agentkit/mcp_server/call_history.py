"""The calls each principal made through one `agentkit mcp serve` process, recently.

Every MCP call is a run of its own, so without this the policy's data-flow rules would
see one call at a time: an MCP client could read a vault and mail what it read in the
next call. Each new call is decided with the principal's settled calls of the last
`window` seconds in view (`Agent.call_tool(earlier=...)`), so ``after_untrusted``,
``after_tools``, sinks and per-run limits hold across them, for as long as the window.

Nothing is forgotten early: once `limit` calls are in view, the next is refused until
older ones leave the window (a full history never silently drops a taint).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from agentkit.decision import Principal
from agentkit.state import Step

DEFAULT_WINDOW = 3600.0
DEFAULT_LIMIT = 1000


class CallHistory:
    """Settled steps per principal, kept `window` seconds, at most `limit` each."""

    def __init__(
        self,
        *,
        window: float = DEFAULT_WINDOW,
        limit: int = DEFAULT_LIMIT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if window < 0 or limit < 1:
            raise ValueError("a call history needs a window >= 0 and a limit >= 1")
        self.window = window
        self.limit = limit
        self._clock = clock
        self._kept: dict[Principal, deque[tuple[float, Step]]] = {}

    def of(self, principal: Principal) -> list[Step]:
        """The principal's calls still in the window, oldest first."""
        kept = self._pruned(principal)
        return [step for _, step in kept] if kept else []

    def full(self, principal: Principal) -> float | None:
        """Seconds until the principal may call again, when `limit` calls are in view."""
        kept = self._pruned(principal)
        if kept is None or len(kept) < self.limit:
            return None
        return max(0.0, kept[0][0] + self.window - self._clock())

    def add(self, principal: Principal, step: Step) -> None:
        """Keep a settled call of `principal`."""
        self._kept.setdefault(principal, deque()).append((self._clock(), step))

    def _pruned(self, principal: Principal) -> deque[tuple[float, Step]] | None:
        kept = self._kept.get(principal)
        if kept is None:
            return None
        horizon = self._clock() - self.window
        while kept and kept[0][0] <= horizon:
            kept.popleft()
        if not kept:
            del self._kept[principal]
            return None
        return kept
