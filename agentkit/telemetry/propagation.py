"""The caller's trace across the service's HTTP boundary.

`TraceContextMiddleware` reads the W3C ``traceparent``/``tracestate`` headers (through the
globally configured propagator) of each request and makes that context current while the
request is handled, so a run the request starts (a task created there inherits the
context) continues the caller's trace. Where the application already runs OpenTelemetry's
ASGI instrumentation, its server span is current and is left as the parent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from opentelemetry import context, propagate, trace

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TraceContextMiddleware:
    """ASGI middleware: the request's trace context is current while it is handled."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or trace.get_current_span().get_span_context().is_valid:
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers") or ()
        }
        token = context.attach(propagate.extract(carrier))
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)
