"""One HTTP exchange, independent of how its bytes travel (in-process or loopback TCP)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class HTTPRequest:
    """A request as both transports hand it to the fake: header names are lower-case."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""
    query: str = ""
    """The query string, without its ``?``."""


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the fake received, as tests inspect it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    request_id: str
    """The client's own ``X-Request-Id`` (a new UUID when it sent none)."""
    server_request_id: str = ""
    """The ``x-request-id`` the fake answered with: its own id for this HTTP request."""

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(slots=True)
class HTTPReply:
    """What to send back: a body, a stream of SSE chunks, or nothing (drop the connection)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    drop: bool = False

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive)."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


Handler = Callable[[HTTPRequest], Awaitable[HTTPReply]]
"""Answers one exchange: what both byte transports hand each request to (`FakeXAI.handle`)."""
