"""What the service's HTTP routes answer with: server-sent event frames, typed error
bodies, and the request body limit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import JSONResponse


async def sse_frames(events: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    """Each event as an SSE frame with its sequence number as the id (what a client
    reconnects with in ``Last-Event-ID``); None as a keep-alive comment."""
    async for event in events:
        if event is None:
            yield b": ping\n\n"
            continue
        data = getattr(event, "text", None) or json.dumps(
            event, ensure_ascii=False, separators=(",", ":")
        )
        yield f"id: {event['seq']}\nevent: {event['type']}\ndata: {data}\n\n".encode()


def error_response(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> Any:
    """The service's error body: ``{"error": {"type", "message"}}``."""
    body = {"error": {"type": kind, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def not_found(what: str, ident: str) -> Any:
    return error_response(404, "NotFound", f"no {what} {ident!r} for you")


class BodyLimit:
    """Refuse a request body over `max_bytes` (413) or without a length (411), before the
    app reads it. Plain ASGI: Starlette's BaseHTTPMiddleware would buffer every event
    stream through memory streams."""

    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        size = headers.get(b"content-length")
        if size is None:
            reply = error_response(411, "LengthRequired", "send the body with a Content-Length")
        elif not size.isdigit() or int(size) > self.max_bytes:
            reply = error_response(
                413, "BodyTooLarge", f"a request body is at most {self.max_bytes} bytes"
            )
        else:
            await self.app(scope, receive, send)
            return
        await reply(scope, receive, send)
