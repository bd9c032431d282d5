"""Stream events assembled into the same body a non-streamed call returns.

The events come decoded from `agentkit.model.sse_reader`; the payload's `type` decides.
The final `response.completed` payload is authoritative: calls that appear only there are
kept, and argument deltas that never got their `.done` event are still assembled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from agentkit.errors import ResponseFailed
from agentkit.model.types import Item

_TERMINAL = frozenset({"response.completed", "response.incomplete"})
LIFECYCLE = frozenset({"ping", "response.created", "response.in_progress"})
"""Events that come before any output: an attempt that saw only these delivered nothing."""

TEXT_DELTAS: ContextVar[Callable[[str], None] | None] = ContextVar(
    "agentkit_text_deltas", default=None
)
"""Who hears the answer's text as it streams in (the runner, for `model.delta` events);
set for one model request. A delta is heard once: an attempt that fails after output is
never retried."""


class StreamErrorEvent(Exception):
    """Internal signal: the stream carried an `error` event. Whether it is retried depends on
    whether output had arrived, which the attempt decides (`error_for_stream_event`)."""

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__(event.get("type"))
        self.event = event


def _failure(event: dict[str, Any]) -> ResponseFailed:
    error = event.get("error")
    response = event.get("response")
    if error is None and isinstance(response, dict):
        error = response.get("error")
    message = error.get("message") if isinstance(error, dict) else error
    return ResponseFailed(f"the model failed to respond: {message or event.get('type')}")


class ResponsesAssembler:
    """Collects `/v1/responses` stream events into one response body."""

    def __init__(self) -> None:
        self.final: dict[str, Any] | None = None
        self.first_token_at: float | None = None
        self.events = 0
        self.output_seen = False
        """Whether any event past the lifecycle ones (created, in_progress, ping) arrived."""
        self._items: dict[int, Item] = {}
        self._args: dict[str, list[str]] = {}
        self._texts: dict[tuple[int, int], list[str]] = {}
        self._notes: dict[tuple[int, int], list[Any]] = {}

    @property
    def complete(self) -> bool:
        """Whether the terminal event has arrived."""
        return self.final is not None

    def feed(self, event: dict[str, Any]) -> None:
        """Take one decoded event.

        Raises:
            ResponseFailed: a `response.failed` event.
            StreamErrorEvent: an `error` event.
        """
        self.events += 1
        if self.final is not None:
            return
        kind = event.get("type")
        if not isinstance(kind, str):
            return
        if kind == "error":
            raise StreamErrorEvent(event)
        self.output_seen = self.output_seen or kind not in LIFECYCLE
        if kind.endswith(".delta") and self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        if kind in _TERMINAL and isinstance(event.get("response"), dict):
            self.final = event["response"]
        elif kind == "response.failed":
            raise _failure(event)
        elif kind in ("response.output_item.added", "response.output_item.done"):
            self._item(event)
        elif kind == "response.function_call_arguments.delta":
            self._args.setdefault(str(event.get("item_id")), []).append(str(event.get("delta", "")))
        elif kind == "response.output_text.delta":
            text = str(event.get("delta", ""))
            self._texts.setdefault(_part_key(event), []).append(text)
            listener = TEXT_DELTAS.get()
            if listener is not None and text:
                listener(text)
        elif kind == "response.output_text.annotation.added":
            self._notes.setdefault(_part_key(event), []).append(event.get("annotation"))

    def _item(self, event: dict[str, Any]) -> None:
        item, index = event.get("item"), event.get("output_index")
        if isinstance(item, dict):
            self._items[index if isinstance(index, int) else len(self._items)] = item

    def body(self) -> dict[str, Any]:
        """The response body, the terminal payload reconciled with the events."""
        body: dict[str, Any] = dict(self.final or {})
        assembled = [self._assembled(i, item) for i, item in sorted(self._items.items())]
        output = body.get("output")
        if not isinstance(output, list) or not output:
            body["output"] = assembled
            return body
        seen = {item.get("call_id") for item in output if isinstance(item, dict)}
        extra = [
            item
            for item in assembled
            if item.get("type") == "function_call" and item.get("call_id") not in seen
        ]
        body["output"] = [
            self._fill_args(item) if isinstance(item, dict) else item for item in output
        ] + extra
        return body

    def _fill_args(self, item: Item) -> Item:
        if (
            item.get("type") == "function_call"
            and not item.get("arguments")
            and str(item.get("id")) in self._args
        ):
            return {**item, "arguments": "".join(self._args[str(item.get("id"))])}
        return item

    def _assembled(self, index: int, item: Item) -> Item:
        if item.get("type") == "function_call":
            return self._fill_args(item)
        if item.get("type") == "message" and not item.get("content"):
            parts = sorted(key for key in self._texts if key[0] == index)
            content = [
                {
                    "type": "output_text",
                    "text": "".join(self._texts[key]),
                    "annotations": self._notes.get(key, []),
                }
                for key in parts
            ]
            return {**item, "content": content}
        return item


def _part_key(event: dict[str, Any]) -> tuple[int, int]:
    index, part = event.get("output_index"), event.get("content_index")
    return (index if isinstance(index, int) else 0, part if isinstance(part, int) else 0)


class ChatAssembler:
    """Collects `chat.completion.chunk` events into one chat completion body."""

    def __init__(self) -> None:
        self.first_token_at: float | None = None
        self.events = 0
        self.done = False
        self._head: dict[str, Any] = {}
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None
        self._citations: list[Any] | None = None

    @property
    def complete(self) -> bool:
        """Whether the stream ended properly: `[DONE]`, or a finish reason plus usage."""
        return self.done or (self._finish is not None and self._usage is not None)

    @property
    def output_seen(self) -> bool:
        """Whether any of the answer (text, reasoning, a call, a finish) has arrived."""
        return self.first_token_at is not None or self._finish is not None or bool(self._calls)

    def feed(self, chunk: dict[str, Any]) -> None:
        """Take one decoded chunk.

        Raises:
            StreamErrorEvent: a chunk carrying `error` in place of choices.
        """
        self.events += 1
        if "error" in chunk and "choices" not in chunk:
            raise StreamErrorEvent(chunk)
        for key in ("id", "model", "created"):
            if key in chunk and key not in self._head:
                self._head[key] = chunk[key]
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        if isinstance(chunk.get("citations"), list):
            self._citations = chunk["citations"]
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            self._choice(choices[0])

    def _choice(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta")
        if isinstance(delta, dict):
            self._delta(delta)
        if choice.get("finish_reason"):
            self._finish = str(choice["finish_reason"])

    def _delta(self, delta: dict[str, Any]) -> None:
        content, reasoning = delta.get("content"), delta.get("reasoning_content")
        if (content or reasoning or delta.get("tool_calls")) and self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        if isinstance(content, str):
            self._content.append(content)
            listener = TEXT_DELTAS.get()
            if listener is not None and content:
                listener(content)
        if isinstance(reasoning, str):
            self._reasoning.append(reasoning)
        for position, call in enumerate(delta.get("tool_calls") or []):
            if isinstance(call, dict):
                self._call(position, call)

    def _call(self, position: int, call: dict[str, Any]) -> None:
        index = call.get("index", position)
        entry = self._calls.setdefault(
            index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if call.get("id"):
            entry["id"] = call["id"]
        function = call.get("function")
        if isinstance(function, dict):
            if function.get("name"):
                entry["function"]["name"] = function["name"]
            if isinstance(function.get("arguments"), str):
                entry["function"]["arguments"] += function["arguments"]

    def body(self) -> dict[str, Any]:
        """The equivalent non-streamed chat completion body."""
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self._content)}
        if self._reasoning:
            message["reasoning_content"] = "".join(self._reasoning)
        if self._calls:
            message["tool_calls"] = [self._calls[i] for i in sorted(self._calls)]
        body: dict[str, Any] = {
            **self._head,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": self._finish}],
        }
        if self._usage is not None:
            body["usage"] = self._usage
        if self._citations is not None:
            body["citations"] = self._citations
        return body
