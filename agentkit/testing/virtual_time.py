"""An asyncio event loop on virtual time: when nothing is ready it jumps to the next
timer instead of waiting, so minutes of rate limits, backoffs and polls run in
milliseconds, in the order real time would give them."""

from __future__ import annotations

import asyncio
import selectors
from typing import Any


class _WarpSelector(selectors.DefaultSelector):
    """A selector that, asked to block, advances virtual time instead."""

    now = 0.0

    def select(self, timeout: float | None = None) -> Any:
        if timeout is None:
            raise RuntimeError("deadlock: nothing ready and no timer pending")
        self.now += max(timeout, 0.0)
        return super().select(0)


class VirtualLoop(asyncio.SelectorEventLoop):
    """``loop.time()`` is virtual: it moves only when every task waits on a timer.

    Example:
        >>> loop = VirtualLoop()
        >>> loop.run_until_complete(asyncio.sleep(3600))  # returns at once
        >>> loop.time()
        3600.0
    """

    def __init__(self) -> None:
        self._warp = _WarpSelector()
        super().__init__(self._warp)

    def time(self) -> float:
        return self._warp.now
