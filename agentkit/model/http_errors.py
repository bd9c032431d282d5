"""HTTP error responses and stream error events -> typed exceptions, with xAI's own message
and no API key."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from agentkit.errors import (
    AuthenticationError,
    BadRequest,
    ModelError,
    ModelHTTPError,
    NotFound,
    Overloaded,
    QuotaExhausted,
    RateLimited,
    ResponseFailed,
    ServerError,
    StreamInterrupted,
)
from agentkit.model.retry import parse_retry_after

# xAI's words for an exhausted account, on a 429: "Your team ... has either used all available
# credits or reached its monthly spending limit." A retry cannot fix that.
_QUOTA = re.compile(
    r"credit|spending limit|spend limit|quota|billing|insufficient (funds|balance)", re.I
)
_OVERLOADED = re.compile(r"overloaded", re.I)
OVERLOADED_STATUS = 529
_CLASSES: Mapping[int, type[ModelHTTPError]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFound,
    422: BadRequest,
}
_MAX_MESSAGE = 500
_MIN_SECRET = 8


def redact(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` (and its long prefixes) masked.

    Secrets shorter than 8 characters are placeholders (tests, offline mode), not keys:
    masking them would mangle ordinary words.
    """
    if len(secret) < _MIN_SECRET:
        return text
    text = text.replace(secret, "[redacted]")
    # some APIs echo a truncated key ("xai-abc...xyz"): mask any 12+ char prefix too
    if len(secret) >= 12 and secret[:12] in text:
        text = re.sub(re.escape(secret[:12]) + r"[^\s\"']*", "[redacted]", text)
    return text


# Key-shaped text an endpoint may echo besides our own key: another xAI key, a bearer
# token or an Authorization header value. (The audit Redactor, a sibling layer, removes
# the rest before anything is logged.)
_KEY_SHAPED = re.compile(
    r"\bxai-[A-Za-z0-9_-]{16,}"
    r"|(?P<label>(?i:\bbearer\s+|\b(?:proxy-)?authori[sz]ation[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|basic|token)\s+)?))"
    r"(?=[A-Za-z0-9._~+/=-]*\d|[A-Za-z0-9._~+/=-]{20})[A-Za-z0-9._~+/=-]{8,}"
)


def scrub(text: str, secret: str) -> str:
    """`text` without `secret`, its long prefixes, or any other key-shaped value."""
    return _KEY_SHAPED.sub(_masked, redact(text, secret))


def _masked(match: re.Match[str]) -> str:
    return (match.group("label") or "") + "[redacted]"


def scrub_value(value: Any, secret: str) -> Any:
    """`value` (a decoded body) with every string in it scrubbed."""
    if isinstance(value, str):
        return scrub(value, secret)
    if isinstance(value, dict):
        return {scrub(str(k), secret): scrub_value(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(item, secret) for item in value]
    return value


def scrub_error(exc: ModelError, secret: str) -> ModelError:
    """`exc` scrubbed in place: its message, its body, and a cause that names the key."""
    exc.args = tuple(scrub(a, secret) if isinstance(a, str) else a for a in exc.args)
    if isinstance(exc, ModelHTTPError):
        exc.body = scrub_value(exc.body, secret)
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None and scrub(str(linked), secret) != str(linked):
            exc.__cause__ = None
            exc.__suppress_context__ = True
            break
    return exc


def name_server_request(exc: ModelError, server_request_id: str | None) -> ModelError:
    """`exc` carrying xAI's `x-request-id` beside agentkit's own, in its fields and message."""
    if server_request_id is None or exc.server_request_id is not None:
        return exc
    exc.server_request_id = server_request_id
    if exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]} [xAI x-request-id {server_request_id}]", *exc.args[1:])
    return exc


def decode_body(content: bytes) -> Any:
    """The body as JSON when it is JSON, else as text."""
    text = content.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def api_message(body: Any) -> str:
    """xAI's message from a flat `{"code","error"}` or OpenAI `{"error":{"message"}}` body."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            if isinstance(message, str) and message:
                return message
        if isinstance(error, str) and error:
            code = body.get("code")
            return f"{error} ({code})" if isinstance(code, str) and code else error
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
        return json.dumps(body)[:_MAX_MESSAGE]
    text = str(body).strip()
    return text[:_MAX_MESSAGE] if text else "(empty body)"


def error_for_status(
    status: int,
    content: bytes,
    headers: Mapping[str, str],
    *,
    request_id: str,
    secret: str,
) -> ModelHTTPError:
    """The typed exception for an HTTP error status (body kept, key redacted)."""
    body = scrub_value(decode_body(content), secret)
    message = scrub(api_message(body), secret)
    text = f"xAI API returned {status}: {message} (request {request_id})"
    if status == 429:
        limited = QuotaExhausted if _QUOTA.search(message) else RateLimited
        return limited(
            text,
            body=body,
            request_id=request_id,
            retry_after=parse_retry_after(headers),
        )
    if status >= 500:
        kind = Overloaded if status == OVERLOADED_STATUS else ServerError
        error = kind(text, status_code=status, body=body, request_id=request_id)
        error.retry_after = parse_retry_after(headers)
        return error
    cls = _CLASSES.get(status, ModelHTTPError)
    return cls(text, status_code=status, body=body, request_id=request_id)


def _event_status(event: Mapping[str, Any], details: Mapping[str, Any], message: str) -> int | None:
    """The HTTP status a stream error event carries: `status`, else a numeric `code`."""
    for value in (event.get("status"), details.get("status"), details.get("code")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return OVERLOADED_STATUS if _OVERLOADED.search(message) else None


def error_for_stream_event(
    event: Mapping[str, Any], *, output_seen: bool, secret: str
) -> ModelError:
    """The typed exception for a stream `error` event (or a chat chunk carrying `error`).

    A rate limit, an overload or a server error before any output is the same failure as
    the HTTP status would have been, and retried alike; after output has arrived it is
    `StreamInterrupted`, never retried. Anything else is `ResponseFailed`.
    """
    error = event.get("error")
    details: Mapping[str, Any] = error if isinstance(error, dict) else event
    raw = details.get("message", event.get("message"))
    message = scrub(str(raw or error or event.get("type") or "stream error"), secret)
    status = _event_status(event, details, message)
    text = f"the stream failed: {message}" + (f" (status {status})" if status else "")
    retryable = status == 429 or (status is not None and 500 <= status < 600)
    if not retryable:
        return ResponseFailed(f"the model failed to respond: {message}")
    if output_seen:
        interrupted = StreamInterrupted(
            f"{text} after part of the answer had arrived; not sent again, as a restart "
            "would generate and bill the answer twice"
        )
        interrupted.status_code = status
        return interrupted
    body = scrub_value(dict(event), secret)
    if status == 429:
        return (QuotaExhausted if _QUOTA.search(message) else RateLimited)(text, body=body)
    kind = Overloaded if status == OVERLOADED_STATUS else ServerError
    return kind(text, status_code=status or 500, body=body)
