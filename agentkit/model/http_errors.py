"""HTTP error responses -> typed exceptions, with xAI's own message and no API key."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from agentkit.errors import (
    AuthenticationError,
    BadRequest,
    ModelHTTPError,
    NotFound,
    QuotaExhausted,
    RateLimited,
    ServerError,
)
from agentkit.model.retry import parse_retry_after

_QUOTA = re.compile(
    r"credit|spending limit|spend limit|quota|billing|insufficient (funds|balance)", re.I
)
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


def _redact_body(body: Any, secret: str) -> Any:
    if isinstance(body, str):
        return redact(body, secret)
    if isinstance(body, dict):
        return {key: _redact_body(value, secret) for key, value in body.items()}
    if isinstance(body, list):
        return [_redact_body(value, secret) for value in body]
    return body


def error_for_status(
    status: int,
    content: bytes,
    headers: Mapping[str, str],
    *,
    request_id: str,
    secret: str,
) -> ModelHTTPError:
    """The typed exception for an HTTP error status (body kept, key redacted)."""
    body = _redact_body(decode_body(content), secret)
    message = redact(api_message(body), secret)
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
        error = ServerError(text, status_code=status, body=body, request_id=request_id)
        error.retry_after = parse_retry_after(headers)
        return error
    cls = _CLASSES.get(status, ModelHTTPError)
    return cls(text, status_code=status, body=body, request_id=request_id)
