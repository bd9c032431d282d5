"""Faults the fake xAI server injects: HTTP errors, delays, dropped connections, bad output.

A fault is plain frozen data. It is applied either from the server's queue (``FakeXAI.inject``)
or as part of a script turn.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from agentkit.errors import ConfigError

FaultKind = Literal[
    "http",
    "quota_exhausted",
    "delay",
    "drop",
    "truncate_stream",
    "stream_error",
    "malformed_body",
    "malformed_arguments",
    "invalid_arguments",
]
FAULT_KINDS: tuple[str, ...] = FaultKind.__args__  # type: ignore[attr-defined]

QUOTA_MESSAGE = (
    "Your team has either used all available credits or reached its monthly spending limit. "
    "To continue making API requests, please purchase more credits or raise your spending limit."
)


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected failure.

    Example:
        >>> fake.inject(Fault.http(429, retry_after=1.0), times=2)
    """

    kind: FaultKind
    status: int = 0
    message: str | None = None
    retry_after: float | None = None
    seconds: float = 0.0
    after_events: int = 0
    path: str | None = None
    """Only requests to this path match; None matches both model endpoints."""
    times: int = 1
    """In a script turn: how many attempts of the same request it fails before answering."""

    @classmethod
    def http(
        cls, status: int, *, message: str | None = None, retry_after: float | None = None
    ) -> Fault:
        """An HTTP error status with xAI's flat error body (429 carries Retry-After)."""
        return cls("http", status=status, message=message, retry_after=retry_after)

    @classmethod
    def overloaded(cls, *, retry_after: float | None = None) -> Fault:
        """HTTP 529, xAI's "overloaded": clients retry it with backoff."""
        return cls("http", status=529, retry_after=retry_after)

    @classmethod
    def quota_exhausted(cls) -> Fault:
        """A 429 saying the credits are used up: clients must not retry it."""
        return cls("quota_exhausted", status=429, message=QUOTA_MESSAGE)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait this long before answering normally."""
        return cls("delay", seconds=seconds)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without sending any response."""
        return cls("drop")

    @classmethod
    def truncate_stream(cls, after_events: int = 3) -> Fault:
        """End a streamed answer after this many SSE events, with no terminal event."""
        return cls("truncate_stream", after_events=after_events)

    @classmethod
    def stream_error(
        cls, after_events: int = 3, *, status: int = 500, message: str | None = None
    ) -> Fault:
        """A stream that sends this many events, then an ``error`` event carrying ``status``
        (a 529 or 503 right after ``response.created``, a 500 halfway through an answer)."""
        return cls("stream_error", status=status, message=message, after_events=after_events)

    @classmethod
    def malformed_body(cls) -> Fault:
        """HTTP 200 whose body (or SSE data) is not JSON."""
        return cls("malformed_body")

    @classmethod
    def malformed_arguments(cls) -> Fault:
        """The turn's function-call arguments are not a JSON document."""
        return cls("malformed_arguments")

    @classmethod
    def invalid_arguments(cls) -> Fault:
        """The turn's function-call arguments are JSON that breaks the tool's schema."""
        return cls("invalid_arguments")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from a script file entry such as ``{"kind": "http", "status": 500}``."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        kind = data.get("kind")
        if kind not in FAULT_KINDS:
            raise ConfigError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if unknown:
            raise ConfigError(f"unknown fault field(s) {sorted(unknown)} in {data!r}")
        fault = cls(**data)
        return replace(fault, status=429) if kind == "quota_exhausted" else fault

    def matches(self, path: str, *, stream: bool, has_calls: bool) -> bool:
        """Whether this fault applies to a request to ``path``."""
        if self.path is not None and self.path != path:
            return False
        if self.kind in ("truncate_stream", "stream_error"):
            return stream
        if self.kind in ("malformed_arguments", "invalid_arguments"):
            return has_calls
        return True


class FaultQueue:
    """Faults waiting for the next matching requests; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[list[Any]] = []  # [fault, remaining uses]

    def add(self, fault: Fault, times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` matching requests."""
        if times < 1:
            raise ConfigError(f"times must be at least 1, got {times}")
        with self._lock:
            self._entries.append([fault, times])

    def take(self, path: str, *, stream: bool, has_calls: bool) -> Fault | None:
        """Remove and return the first queued fault matching this request."""
        with self._lock:
            for entry in self._entries:
                fault: Fault = entry[0]
                if fault.matches(path, stream=stream, has_calls=has_calls):
                    entry[1] -= 1
                    if entry[1] == 0:
                        self._entries.remove(entry)
                    return fault
        return None

    def pending(self) -> int:
        """How many fault uses are still queued."""
        with self._lock:
            return sum(entry[1] for entry in self._entries)

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._entries.clear()
