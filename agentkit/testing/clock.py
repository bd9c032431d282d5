"""A clock for tests: time passes only when the test says so."""

from __future__ import annotations

from agentkit.errors import ConfigError


class FakeClock:
    """A ``() -> float`` unix-time source (the ``clock=`` of the runner, audit log, caches).

    Example:
        >>> clock = FakeClock(1_000.0)  # e.g. Runner(..., clock=clock)
        >>> clock()
        1000.0
        >>> clock.advance(61)  # a per-minute rate limit window has passed
        1061.0
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` forward; return the new time."""
        if seconds < 0:
            raise ConfigError(f"a clock only moves forward, not by {seconds}")
        self.now += seconds
        return self.now
