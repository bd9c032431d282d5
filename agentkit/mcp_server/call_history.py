"""The calls each principal made through one `agentkit mcp serve` process, recently.

Every MCP call is a run of its own, so without this the policy's data-flow rules would
see one call at a time: an MCP client could read a vault and mail what it read in the
next call. Each new call is decided with the principal's settled calls of the last
`window` seconds in view (`Agent.call_tool(earlier=...)`), so ``after_untrusted``,
``after_tools``, sinks and the policy's run limits hold across them.

A call stays in view for at least `window` seconds and at most a quarter longer: the
calls in view are rebuilt without the old ones only once the oldest is that old, so the
work of leaving the window is done once per quarter window, not at every call. Nothing
is forgotten early: once `limit` calls are in view, the next is refused until older ones
leave (a full history never silently drops a taint).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from agentkit.decision import Principal
from agentkit.pipeline.authorise import EarlierCalls
from agentkit.state import Step
from agentkit.tool import Tool

DEFAULT_WINDOW = 3600.0
DEFAULT_LIMIT = 1000
SLACK = 0.25
"""How much longer than the window a call may stay in view (a fraction of the window)."""


@dataclass
class _Kept:
    earlier: EarlierCalls
    times: list[float] = field(default_factory=list)


class CallHistory:
    """Settled steps per principal, kept `window` seconds (up to a quarter more), at most
    `limit` each; `tools` (`Runner.tools`) are the served agent's, which the calls are of."""

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
        self._kept: dict[Principal, _Kept] = {}

    def earlier(self, principal: Principal, tools: Mapping[str, Tool]) -> EarlierCalls:
        """The principal's calls in view, to seed the run of their next call."""
        kept = self._current(principal)
        return kept.earlier if kept is not None else EarlierCalls(tools)

    def full(self, principal: Principal) -> float | None:
        """Seconds until the principal may call again, when `limit` calls are in view."""
        kept = self._current(principal)
        if kept is None or len(kept.times) < self.limit:
            return None
        now = self._clock()
        if kept.times[0] + self.window <= now:  # the oldest left the window: make room now
            kept = self._rebuilt(principal, kept, now)
            if len(kept.times) < self.limit:
                return None
        return max(0.0, kept.times[0] + self.window - now)

    def add(self, principal: Principal, step: Step, tools: Mapping[str, Tool]) -> None:
        """Keep a settled call of `principal`."""
        kept = self._current(principal)
        if kept is None:
            kept = self._kept[principal] = _Kept(EarlierCalls(tools))
        kept.earlier.add(step)
        kept.times.append(self._clock())

    def _current(self, principal: Principal) -> _Kept | None:
        kept = self._kept.get(principal)
        if kept is None:
            return None
        now = self._clock()
        if kept.times and kept.times[0] + self.window * (1 + SLACK) <= now:
            kept = self._rebuilt(principal, kept, now)
        return kept if kept.times else None

    def _rebuilt(self, principal: Principal, kept: _Kept, now: float) -> _Kept:
        """The calls still in the window, in a new `EarlierCalls` (runs seeded from the old
        one keep theirs)."""
        fresh = _Kept(EarlierCalls(kept.earlier.tools))
        for at, step in zip(kept.times, kept.earlier.steps, strict=True):
            if at + self.window > now:
                fresh.earlier.add(step)
                fresh.times.append(at)
        if fresh.times:
            self._kept[principal] = fresh
        else:
            del self._kept[principal]
        return fresh
