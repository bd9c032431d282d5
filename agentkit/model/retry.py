"""When to retry, how long to wait, and how long each attempt may take.

Retried: 429 (except when the credits or the spending limit are used up), 5xx and 529
("overloaded"), timeouts, failed or dropped connections, so long as none of the answer has
reached us: a plain request, or a stream that sent only its lifecycle events (created,
in_progress, ping). Never retried: any other 4xx, a malformed body, and a stream that broke
after output arrived (`StreamInterrupted`: a restart would generate and bill it twice).
The attempt decides which of these a failure is; this module only reads the type.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from agentkit.errors import (
    ModelConnectionError,
    ModelError,
    ModelTimeout,
    QuotaExhausted,
    RateLimited,
    ServerError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped in attempts and in total time."""

    max_attempts: int = 4
    """Attempts in all, the first included."""
    base_delay: float = 0.5
    """Seconds; the backoff ceiling doubles from here on each retry."""
    max_delay: float = 30.0
    """Ceiling of one computed backoff (a server's Retry-After is honoured above it)."""
    max_elapsed: float = 120.0
    """No retry starts once waiting would pass this many seconds since the first attempt."""
    retry_timeouts: bool = True
    """Retry after a connect or read timeout."""
    rand: Callable[[], float] = random.random
    """Uniform [0, 1) source for the jitter; injectable for tests."""

    def backoff(self, attempt: int) -> float:
        """Full-jitter delay before retry number `attempt` (1 = the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * self.rand()

    def is_retryable(self, exc: ModelError) -> bool:
        """Whether `exc` may succeed if the same request is sent again.

        `StreamInterrupted` never is: it means part of the answer already arrived.
        """
        if isinstance(exc, QuotaExhausted):
            return False
        if isinstance(exc, ModelTimeout):
            return self.retry_timeouts
        return isinstance(exc, RateLimited | ServerError | ModelConnectionError)

    def delay(self, exc: ModelError, attempt: int, elapsed: float) -> float | None:
        """Seconds to wait before the next attempt, or None to give up.

        Args:
            exc: the failure of attempt number `attempt`.
            attempt: attempts made so far.
            elapsed: seconds since the first attempt started.
        """
        if attempt >= self.max_attempts or not self.is_retryable(exc):
            return None
        retry_after = getattr(exc, "retry_after", None)
        wait = retry_after if retry_after is not None else self.backoff(attempt)
        if elapsed + wait > self.max_elapsed:
            return None
        return wait


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds per phase of one attempt. Connect and read are separate on purpose."""

    connect: float = 10.0
    read: float = 120.0
    """Longest silence while waiting for (more of) the answer."""
    reasoning_read: float = 900.0
    """Read timeout for reasoning models, which may think for minutes before a byte."""
    write: float = 30.0
    pool: float = 30.0


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds a server asked us to wait (`retry-after-ms`, `Retry-After` seconds or date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)
