"""Server-sent events: text chunks -> lines -> events -> decoded JSON payloads.

What xAI sends, as its official TypeScript client reads it (xai-sdk-ts `src/sse.ts`): `:`
comment lines, `event: ping` keep-alives (with no data, or data that is not JSON), an
`event:` name that stands in for a payload without `type`, and a final `data: [DONE]`
that ends the stream. One event is at most 1 MiB (1,048,576 characters); a longer one is
refused rather than buffered without bound. Lines end in `\\n`, `\\r\\n` or `\\r`.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from agentkit.errors import ModelBehaviorError

DONE = "[DONE]"
PING = "ping"
MAX_EVENT_CHARS = 1_048_576
"""The largest event xAI sends (and its TypeScript client accepts), in characters."""
_EOL = re.compile(r"\r\n|\r|\n")
_FIELD_NAME = 16  # room for "data: " before a line of the largest event


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its `event:` name (when given) and its joined `data:` lines."""

    name: str | None
    data: str | None


def _too_large(size: int) -> ModelBehaviorError:
    return ModelBehaviorError(
        f"malformed stream: an event of more than {MAX_EVENT_CHARS} characters "
        f"(at least {size}); xAI sends at most 1 MiB per event"
    )


async def split_lines(
    chunks: AsyncIterator[str], *, max_chars: int = MAX_EVENT_CHARS + _FIELD_NAME
) -> AsyncIterator[str]:
    """The lines of a text stream, whatever its line endings and chunk boundaries.

    Only `\\r\\n`, `\\r` and `\\n` end a line (`str.splitlines` would also split on U+2028,
    which JSON may carry unescaped). The last line is yielded even without an ending.

    Raises:
        ModelBehaviorError: one line grows past `max_chars` before it ends.
    """
    pending = ""
    async for chunk in chunks:
        text = pending + chunk
        # a trailing \r may be the first half of \r\n: keep it for the next chunk
        held = text.endswith("\r")
        lines = _EOL.split(text[:-1] if held else text)
        pending = lines.pop() + ("\r" if held else "")
        for line in lines:
            yield line
        if len(pending) > max_chars:
            raise _too_large(len(pending))
    if pending:
        yield pending.removesuffix("\r")


async def iter_sse_events(
    lines: AsyncIterator[str], *, max_chars: int = MAX_EVENT_CHARS
) -> AsyncIterator[SSEEvent]:
    """The events of an SSE stream, ending at `data: [DONE]` (yielded as the last event).

    An event with data, or a bare `event: ping`, is dispatched at its blank line; an event
    cut off by the end of the stream is dispatched only when its data is whole (`[DONE]`
    or valid JSON), so a cut-off event reads as a cut-off stream.

    Raises:
        ModelBehaviorError: one event's data grows past `max_chars`.
    """
    name: str | None = None
    data: list[str] = []
    size = 0
    async for line in lines:
        if not line:
            if data or name == PING:
                event = SSEEvent(name, "\n".join(data) if data else None)
                yield event
                if event.data == DONE:
                    return
            name, data, size = None, [], 0
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            size += len(value) + (1 if data else 0)  # the joined data, newlines included
            data.append(value)
            if size > max_chars:
                raise _too_large(size)
        elif field == "event":
            name = value.strip()
        # "" (a comment line), "id", "retry" and unknown fields carry nothing we use
    if data and _whole("\n".join(data)):
        yield SSEEvent(name, "\n".join(data))


def _whole(data: str) -> bool:
    if data == DONE:
        return True
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def decode_event(event: SSEEvent) -> dict[str, Any] | None:
    """The JSON payload of `event`, its `type` taken from the event name when it has none;
    None for `[DONE]`. A ping whose data is missing or not a JSON object is `{"type": "ping"}`.

    Raises:
        ModelBehaviorError: the data is not a JSON object.
    """
    if event.data == DONE:
        return None
    payload: Any = None
    if event.data is not None:
        try:
            payload = json.loads(event.data)
        except ValueError as exc:
            if event.name != PING:
                raise ModelBehaviorError(
                    f"malformed stream event: not JSON: {event.data[:200]!r}"
                ) from exc
    if not isinstance(payload, dict):
        if event.name == PING:
            return {"type": PING}
        raise ModelBehaviorError("malformed stream event: not a JSON object")
    if event.name and "type" not in payload:
        payload["type"] = event.name
    return payload
