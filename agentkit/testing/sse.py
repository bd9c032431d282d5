"""The SSE events of a streamed Responses answer, derived from the finished response.

Order as captured: created, in_progress, then per output item added / its deltas / done,
then completed (``response.incomplete`` for an answer that stopped short). Every payload has
``type`` and ``sequence_number``; created and the terminal event carry the whole response.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from agentkit.testing.chat import split_text
from agentkit.testing.wire import dumps

Event = dict[str, Any]


def frame(event: Event) -> bytes:
    """One SSE event: an ``event:`` line and a ``data:`` line."""
    kind = str(event["type"]).encode()
    return b"event: " + kind + b"\ndata: " + dumps(event) + b"\n\n"


def response_events(response: dict[str, Any]) -> Iterator[Event]:
    """Every event of the stream that ends in ``response``, numbered from 0."""
    for number, event in enumerate(_events(response)):
        yield {"type": event.pop("type"), "sequence_number": number, **event}


def _events(response: dict[str, Any]) -> Iterator[Event]:
    started = dict(response, status="in_progress", output=[], usage=None)
    yield {"type": "response.created", "response": started}
    yield {"type": "response.in_progress", "response": started}
    for index, item in enumerate(response["output"]):
        yield {"type": "response.output_item.added", "output_index": index, "item": _opened(item)}
        yield from _item_deltas(index, item)
        yield {"type": "response.output_item.done", "output_index": index, "item": item}
    terminal = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
    yield {"type": terminal, "response": response}


def _opened(item: dict[str, Any]) -> dict[str, Any]:
    opened = copy.deepcopy(item)
    opened["status"] = "in_progress"
    if item["type"] == "function_call":
        opened["arguments"] = ""
    elif item["type"] == "message":
        opened["content"] = []
    elif item["type"] == "reasoning":
        opened["summary"] = []
    return opened


def _item_deltas(index: int, item: dict[str, Any]) -> Iterator[Event]:
    if item["type"] == "function_call":
        yield from _argument_events(index, item)
    elif item["type"] == "message":
        for content_index, part in enumerate(item["content"]):
            yield from _text_events(index, item["id"], content_index, part)
    elif item["type"] == "reasoning":
        for summary_index, part in enumerate(item["summary"]):
            yield from _summary_events(index, item["id"], summary_index, part)


def _argument_events(index: int, item: dict[str, Any]) -> Iterator[Event]:
    base = {"item_id": item["id"], "output_index": index}
    for piece in split_text(item["arguments"], size=32):
        yield {"type": "response.function_call_arguments.delta", **base, "delta": piece}
    yield {"type": "response.function_call_arguments.done", **base, "arguments": item["arguments"]}


def _text_events(index: int, item_id: str, content_index: int, part: Event) -> Iterator[Event]:
    base = {"item_id": item_id, "output_index": index, "content_index": content_index}
    empty = {"type": "output_text", "text": "", "logprobs": [], "annotations": []}
    yield {"type": "response.content_part.added", **base, "part": empty}
    for piece in split_text(part["text"]):
        yield {"type": "response.output_text.delta", **base, "delta": piece, "logprobs": []}
    for number, annotation in enumerate(part.get("annotations", [])):
        yield {
            "type": "response.output_text.annotation.added",
            **base,
            "annotation_index": number,
            "annotation": annotation,
        }
    yield {"type": "response.output_text.done", **base, "text": part["text"], "logprobs": []}
    yield {"type": "response.content_part.done", **base, "part": part}


def _summary_events(index: int, item_id: str, summary_index: int, part: Event) -> Iterator[Event]:
    base = {"item_id": item_id, "output_index": index, "summary_index": summary_index}
    yield {
        "type": "response.reasoning_summary_part.added",
        **base,
        "part": {"type": "summary_text", "text": ""},
    }
    for piece in split_text(part["text"]):
        yield {"type": "response.reasoning_summary_text.delta", **base, "delta": piece}
    yield {"type": "response.reasoning_summary_text.done", **base, "text": part["text"]}
    yield {"type": "response.reasoning_summary_part.done", **base, "part": part}


def parse_sse(text: str) -> list[Any]:
    """The ``data:`` payloads of an SSE body, JSON-decoded (``[DONE]`` stays a string)."""
    payloads: list[Any] = []
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads
