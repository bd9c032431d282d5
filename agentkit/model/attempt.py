"""One HTTP attempt, plain or streamed; httpx2 failures become typed errors here."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from agentkit.errors import (
    ModelBehaviorError,
    ModelConnectionError,
    ModelError,
    ModelTimeout,
    StreamInterrupted,
)
from agentkit.model.http_errors import (
    error_for_status,
    error_for_stream_event,
    name_server_request,
    scrub_error,
)
from agentkit.model.sender import Sender
from agentkit.model.sse_reader import decode_event, iter_sse_events, split_lines
from agentkit.model.streaming import ChatAssembler, ResponsesAssembler, StreamErrorEvent
from agentkit.model.types import ModelResponse


@dataclass(slots=True)
class Attempt:
    """Everything one logical request sends, identical on every retry."""

    sender: Sender
    url: str
    content: bytes
    headers: dict[str, str]
    timeout: httpx2.Timeout
    secret: str
    parse: Callable[[Any, str], ModelResponse]
    started: float = 0.0
    first_token_at: float | None = None
    server_request_id: str | None = None
    """xAI's `x-request-id` for the current attempt, once its answer has begun."""

    @property
    def request_id(self) -> str:
        """The `X-Request-Id` shared by all attempts."""
        return self.headers["X-Request-Id"]

    @property
    def chat(self) -> bool:
        """Whether this goes to the chat completions endpoint."""
        return self.url.endswith("/chat/completions")


def _transport_error(exc: httpx2.HTTPError, attempt: Attempt) -> ModelError:
    rid = attempt.request_id
    if isinstance(exc, httpx2.TimeoutException):
        phase = (
            "connecting"
            if isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout)
            else "waiting for the answer"
        )
        return ModelTimeout(f"timed out {phase} (request {rid})", request_id=rid)
    return ModelConnectionError(
        f"connection to the xAI API failed: {type(exc).__name__}: {exc} (request {rid})",
        request_id=rid,
    )


def _behaviour(message: str, attempt: Attempt) -> ModelBehaviorError:
    rid = attempt.request_id
    return ModelBehaviorError(f"{message} (request {rid})", request_id=rid)


def _parse(body: Any, attempt: Attempt) -> ModelResponse:
    try:
        response = attempt.parse(body, attempt.request_id)
    except ModelBehaviorError as exc:
        raise _behaviour(str(exc), attempt) from exc
    response.usage.server_request_id = attempt.server_request_id
    return response


async def send_plain(attempt: Attempt) -> ModelResponse:
    """POST once and parse the JSON answer; no error it raises names the key."""
    return await _scrubbed(_send_plain, attempt)


async def send_streamed(attempt: Attempt) -> ModelResponse:
    """POST once, streamed, and assemble the answer; no error it raises names the key."""
    return await _scrubbed(_send_streamed, attempt)


async def _scrubbed(
    send: Callable[[Attempt], Awaitable[ModelResponse]], attempt: Attempt
) -> ModelResponse:
    attempt.server_request_id = None
    try:
        return await send(attempt)
    except ModelError as exc:
        scrub_error(exc, attempt.secret)
        name_server_request(exc, attempt.server_request_id)
        raise


async def _send_plain(attempt: Attempt) -> ModelResponse:
    try:
        async with attempt.sender.post(
            attempt.content, attempt.headers, attempt.timeout, stream=False
        ) as answer:
            response = answer
    except httpx2.HTTPError as exc:
        raise _transport_error(exc, attempt) from exc
    attempt.server_request_id = response.headers.get("x-request-id")
    if response.status_code >= 400:
        raise error_for_status(
            response.status_code,
            response.content,
            response.headers,
            request_id=attempt.request_id,
            secret=attempt.secret,
        )
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise _behaviour(
            f"malformed response: the body is not JSON ({len(response.content)} bytes)", attempt
        ) from exc
    return _parse(body, attempt)


async def _send_streamed(attempt: Attempt) -> ModelResponse:
    """POST once with `stream: true` and assemble the events into one response.

    A failure before any output (only created / in_progress / ping events) is the failure
    itself, retried like one; after output it is `StreamInterrupted`, never retried.
    """
    assembler: ResponsesAssembler | ChatAssembler = (
        ChatAssembler() if attempt.chat else ResponsesAssembler()
    )
    try:
        async with attempt.sender.post(
            attempt.content, attempt.headers, attempt.timeout, stream=True
        ) as response:
            attempt.server_request_id = response.headers.get("x-request-id")
            if response.status_code >= 400:
                await response.aread()
                raise error_for_status(
                    response.status_code,
                    response.content,
                    response.headers,
                    request_id=attempt.request_id,
                    secret=attempt.secret,
                )
            await _consume(response, assembler, attempt)
    except httpx2.HTTPError as exc:
        if not assembler.complete:
            raise _broken(exc, assembler, attempt) from exc
    if not assembler.complete:
        raise _ended_early(assembler, attempt)
    attempt.first_token_at = assembler.first_token_at
    return _parse(assembler.body(), attempt)


def _broken(
    exc: httpx2.HTTPError, assembler: ResponsesAssembler | ChatAssembler, attempt: Attempt
) -> ModelError:
    if not assembler.output_seen:
        return _transport_error(exc, attempt)
    rid = attempt.request_id
    return StreamInterrupted(
        f"the stream broke after {assembler.events} events, part of the answer delivered: "
        f"{type(exc).__name__}; not sent again (request {rid})",
        request_id=rid,
    )


def _ended_early(assembler: ResponsesAssembler | ChatAssembler, attempt: Attempt) -> ModelError:
    rid = attempt.request_id
    if not assembler.output_seen:
        return ModelConnectionError(
            f"the stream ended after {assembler.events} events, before any output and "
            f"without its terminal event (request {rid})",
            request_id=rid,
        )
    return StreamInterrupted(
        f"the stream ended after {assembler.events} events without its terminal event "
        f"(request {rid})",
        request_id=rid,
    )


async def _consume(
    response: httpx2.Response, assembler: ResponsesAssembler | ChatAssembler, attempt: Attempt
) -> None:
    try:
        async for event in iter_sse_events(split_lines(response.aiter_text())):
            payload = decode_event(event)
            if payload is None:  # `data: [DONE]`: nothing follows it
                if isinstance(assembler, ChatAssembler):
                    assembler.done = True
                return
            assembler.feed(payload)
    except ModelBehaviorError as exc:
        raise _behaviour(str(exc), attempt) from exc
    except StreamErrorEvent as signal:
        failure = error_for_stream_event(
            signal.event, output_seen=assembler.output_seen, secret=attempt.secret
        )
        raise _tagged(failure, attempt) from None
    except ModelError as exc:
        raise _tagged(exc, attempt) from None


def _tagged(exc: ModelError, attempt: Attempt) -> ModelError:
    """`exc` (raised inside the stream, where the request is unknown) naming its request."""
    if exc.request_id is None:
        exc.request_id = attempt.request_id
        exc.args = (f"{exc.args[0]} (request {attempt.request_id})", *exc.args[1:])
    return exc
