"""What the fake's side endpoints (media, files and collections) share: their own 429s and
injected faults, the refusal that turns into xAI's error body, and JSON request bodies.

Each family of side endpoints keeps its own fault queue, apart from `FakeXAI.inject`, whose
faults without a path are meant for the model endpoints: a test can fail an upload without
also failing the model turn that follows it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from agentkit.testing import replies
from agentkit.testing.exchange import HTTPReply, HTTPRequest
from agentkit.testing.faults import Fault, FaultQueue


class Refused(Exception):
    """Raised inside a side endpoint: answer this request with xAI's error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def reply(self) -> HTTPReply:
        """The error reply this refusal stands for."""
        return replies.error_reply(self.status, self.message)


def require(method: str, expected: str) -> None:
    """Refuse with 405 unless the request's method is ``expected``."""
    if method != expected:
        raise Refused(405, f"Method {method} not allowed here; use {expected}")


def json_object(request: HTTPRequest) -> dict[str, Any]:
    """The request's JSON object body; 415 unless it says JSON, 400/422 unless it is one."""
    if "json" not in request.headers.get("content-type", ""):
        raise Refused(415, "Expected request with `Content-Type: application/json`")
    try:
        body = json.loads(request.body)
    except ValueError as exc:
        raise Refused(400, f"Failed to parse the request body as JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise Refused(
            422, "Failed to deserialize the JSON body into the target type: expected an object"
        )
    return body


class SideFaults:
    """The rate limit and fault queue one family of side endpoints answers with first.

    Example:
        >>> fake.media.rate_limit_next = 1  # the next media request answers 429
        >>> fake.files.inject(Fault.http(503), times=2)
    """

    def __init__(self) -> None:
        self.rate_limit_next = 0
        """Answer this many next requests of this family 429 with ``Retry-After: 1``."""
        self._side_faults = FaultQueue()
        self._side_lock = threading.Lock()

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Fail the next ``times`` requests of this family with ``fault`` (its ``path``,
        when set, picks one endpoint)."""
        self._side_faults.add(fault, times)

    def pending_faults(self) -> int:
        """Injected fault uses not consumed yet."""
        return self._side_faults.pending()

    async def _limited(self, path: str) -> HTTPReply | None:
        """The 429 or injected fault answering a request to ``path`` instead, if any (a
        delay fault waits, then lets the request be answered as usual)."""
        with self._side_lock:
            limited = self.rate_limit_next > 0
            if limited:
                self.rate_limit_next -= 1
        if limited:
            return replies.error_reply(429, retry_after=1)
        fault = self._side_faults.take(path, stream=False, has_calls=False)
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        return replies.fault_reply(fault, stream=False) if fault else None
