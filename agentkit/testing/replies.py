"""HTTP replies of the fake: JSON bodies, SSE streams, errors, and the faults that replace them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from agentkit.testing.exchange import HTTPReply
from agentkit.testing.faults import Fault
from agentkit.testing.schema_args import break_arguments
from agentkit.testing.wire import dumps, error_body

JSON_TYPE = ("content-type", "application/json")
SSE_HEADERS = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]
MALFORMED_BODY = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
MALFORMED_EVENT = b'data: {"type": "response.created", "response": <html>\n\n'
DONE_FRAME = b"data: [DONE]\n\n"
PING_FRAME = b"event: ping\n\n"


def json_reply(body: Any, status: int = 200) -> HTTPReply:
    """A JSON body."""
    return HTTPReply(status, [JSON_TYPE], dumps(body))


def error_reply(
    status: int, message: str | None = None, *, retry_after: float | None = None
) -> HTTPReply:
    """xAI's flat error body with ``status`` (and Retry-After when given)."""
    reply = json_reply(error_body(status, message), status)
    if retry_after is not None:
        seconds = int(retry_after) if float(retry_after).is_integer() else retry_after
        reply.headers.append(("retry-after", str(seconds)))
    return reply


def stream_reply(
    frames: Iterable[bytes],
    *,
    limit: int | None = None,
    ping_every: int = 0,
    tail: bytes | None = None,
) -> HTTPReply:
    """An SSE stream of ``frames``, cut after ``limit`` frames when given (then ``tail``, an
    error event), with an ``event: ping`` keep-alive before every ``ping_every``-th frame
    (pings are not counted)."""
    return HTTPReply(200, list(SSE_HEADERS), stream=_frames(frames, limit, ping_every, tail))


async def _frames(
    frames: Iterable[bytes], limit: int | None, ping_every: int, tail: bytes | None
) -> AsyncIterator[bytes]:
    for number, frame in enumerate(frames):
        if limit is not None and number >= limit:
            break
        if ping_every and number % ping_every == 0:
            yield PING_FRAME
        yield frame
    if tail is not None:
        yield tail


def fault_reply(fault: Fault, *, stream: bool) -> HTTPReply | None:
    """The reply that replaces the answer under ``fault``; None when the answer still goes out."""
    if fault.kind in ("http", "quota_exhausted"):
        return error_reply(fault.status, fault.message, retry_after=fault.retry_after)
    if fault.kind == "drop":
        return HTTPReply(0, drop=True)
    if fault.kind == "malformed_body":
        if stream:
            return stream_reply([MALFORMED_EVENT])
        return HTTPReply(200, [JSON_TYPE], MALFORMED_BODY)
    return None


def faulty_arguments(
    arguments: list[str], schema: dict[str, Any] | None, fault: Fault | None
) -> list[str]:
    """The wire arguments with the first call's spoiled as ``fault`` asks."""
    if fault is None or not arguments:
        return arguments
    first = arguments[0]
    if fault.kind == "malformed_arguments":
        first = _not_json(first)
    elif fault.kind == "invalid_arguments":
        try:
            valid = json.loads(first)
        except ValueError:
            valid = {}
        broken = break_arguments(schema, valid if isinstance(valid, dict) else {})
        first = json.dumps(broken, separators=(",", ":"))
    return [first, *arguments[1:]]


def _not_json(text: str) -> str:
    cut = text[: len(text) // 2] or "{"
    try:
        json.loads(cut)
    except ValueError:
        return cut
    return "{" + cut
