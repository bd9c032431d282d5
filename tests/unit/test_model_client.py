"""XAIClient over httpx2.MockTransport: headers, errors, retries with an injected sleep."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx2
import pytest

from agentkit.errors import (
    AuthenticationError,
    BadRequest,
    MissingAPIKey,
    ModelBehaviorError,
    ModelConnectionError,
    ModelHTTPError,
    ModelTimeout,
    NotFound,
    QuotaExhausted,
    RateLimited,
    ServerError,
    UnsupportedParameter,
)
from agentkit.model import ModelRequest, RetryPolicy, Usage, XAIClient
from agentkit.model.retry import parse_retry_after

KEY = "xai-test-secret-0123456789abcdef"
REQUEST = ModelRequest(
    model="grok-4-1-fast-non-reasoning", input=[{"role": "user", "content": "hi"}]
)

Reply = httpx2.Response | Exception


def answer(text: str = "hello", **extra: Any) -> dict[str, Any]:
    """A minimal completed Responses body."""
    return {
        "id": "resp-1",
        "object": "response",
        "model": "grok-4-1-fast-non-reasoning",
        "status": "completed",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "usage": {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12},
        **extra,
    }


class Scripted:
    """A MockTransport handler replaying replies in order and recording requests."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]


class Sleeps:
    """An injected sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_client(
    handler: Callable[[httpx2.Request], httpx2.Response], **kwargs: Any
) -> tuple[XAIClient, Sleeps]:
    sleeps = Sleeps()
    kwargs.setdefault("retry", RetryPolicy(rand=lambda: 0.5))
    client = XAIClient(api_key=KEY, transport=httpx2.MockTransport(handler), sleep=sleeps, **kwargs)
    return client, sleeps


def error(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(status, json=body, headers=headers)


# --- construction and headers -----------------------------------------------------------


def test_missing_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingAPIKey):
        XAIClient()
    monkeypatch.setenv("XAI_API_KEY", KEY)
    client = XAIClient(transport=httpx2.MockTransport(Scripted(httpx2.Response(200))))
    assert KEY not in repr(client)


async def test_request_carries_auth_json_and_a_uuid_request_id() -> None:
    handler = Scripted(httpx2.Response(200, json=answer()))
    client, _ = make_client(handler)
    async with client:
        response = await client.respond(REQUEST)
    [sent] = handler.requests
    assert sent.url == "https://api.x.ai/v1/responses"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert response.request_id == sent.headers["x-request-id"] == response.usage.request_id
    assert len(response.request_id) == 36
    assert json.loads(sent.content)["parallel_tool_calls"] is True
    assert response.text == "hello"


async def test_chat_endpoint_posts_messages_and_answers_in_responses_shape() -> None:
    chat = {
        "id": "c1",
        "model": "grok-3",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "hey"},
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
    handler = Scripted(httpx2.Response(200, json=chat))
    client, _ = make_client(handler, endpoint="chat", base_url="http://fake/v1/")
    response = await client.respond(REQUEST)
    assert str(handler.requests[0].url) == "http://fake/v1/chat/completions"
    assert handler.bodies()[0]["messages"] == [{"role": "user", "content": "hi"}]
    assert response.text == "hey"
    assert response.output[0]["type"] == "message"


async def test_unsupported_parameter_raises_before_any_request() -> None:
    handler = Scripted(httpx2.Response(200, json=answer()))
    client, _ = make_client(handler)
    with pytest.raises(UnsupportedParameter):
        await client.respond(ModelRequest(model="grok-4", input=[], stop=["x"]))
    assert handler.requests == []


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (
            400,
            {
                "code": "Client specified an invalid argument",
                "error": "Argument not supported on this model: stop",
            },
            BadRequest,
            "Argument not supported on this model: stop",
        ),
        (
            422,
            {"error": {"message": "bad field", "type": "invalid_request_error"}},
            BadRequest,
            "bad field",
        ),
        (
            401,
            {"error": f"Incorrect API key provided: {KEY[:14]}***"},
            AuthenticationError,
            "Incorrect API key",
        ),
        (403, {"error": "team blocked"}, AuthenticationError, "team blocked"),
        (404, {"error": "model not found"}, NotFound, "model not found"),
        (405, "method not allowed", ModelHTTPError, "method not allowed"),
    ],
)
async def test_client_errors_are_typed_and_never_retried(
    status: int, body: Any, cls: type[ModelHTTPError], message: str
) -> None:
    handler = Scripted(error(status, body))
    client, sleeps = make_client(handler)
    with pytest.raises(cls) as info:
        await client.respond(REQUEST)
    assert type(info.value) is cls
    assert message in str(info.value)
    assert (info.value.status_code, info.value.attempts) == (status, 1)
    assert info.value.request_id == handler.requests[0].headers["x-request-id"]
    assert KEY[:12] not in str(info.value)
    assert KEY[:12] not in json.dumps(info.value.body)
    assert len(handler.requests) == 1
    assert sleeps.waits == []


async def test_quota_exhausted_429_is_not_retried() -> None:
    body = {
        "code": "Some resource has been exhausted",
        "error": "Your team has used all available credits or reached its monthly spending limit.",
    }
    handler = Scripted(error(429, body, {"retry-after": "1"}))
    client, sleeps = make_client(handler)
    with pytest.raises(QuotaExhausted):
        await client.respond(REQUEST)
    assert len(handler.requests) == 1
    assert sleeps.waits == []


# --- retries ----------------------------------------------------------------------------


async def test_429_retry_after_is_honoured_with_the_same_request_id() -> None:
    handler = Scripted(
        error(429, {"error": "Too many requests"}, {"retry-after": "7"}),
        error(503, {"error": "unavailable"}),
        httpx2.Response(200, json=answer()),
    )
    usages: list[Usage] = []
    client, sleeps = make_client(handler, usage_sink=usages.append)
    response = await client.respond(REQUEST)
    assert sleeps.waits[0] == 7.0
    # second wait: full jitter over base 0.5 * 2 = 1.0, with rand fixed at 0.5
    assert sleeps.waits[1] == pytest.approx(0.5)
    ids = {r.headers["x-request-id"] for r in handler.requests}
    assert len(handler.requests) == 3
    assert len(ids) == 1
    assert response.usage.attempts == 3
    assert usages == [response.usage]


async def test_attempts_are_capped_and_the_last_error_raised() -> None:
    handler = Scripted(error(500, {"error": "boom"}))
    usages: list[Usage] = []
    client, sleeps = make_client(
        handler, retry=RetryPolicy(max_attempts=3, rand=lambda: 1.0), usage_sink=usages.append
    )
    with pytest.raises(ServerError) as info:
        await client.respond(REQUEST)
    assert info.value.attempts == 3
    assert len(handler.requests) == 3
    assert sleeps.waits == [0.5, 1.0]
    [usage] = usages
    assert (usage.status, usage.attempts) == ("error:ServerError", 3)


async def test_total_time_cap_stops_retries_that_would_wait_too_long() -> None:
    handler = Scripted(error(429, {"error": "slow down"}, {"retry-after": "100"}))
    client, sleeps = make_client(handler, retry=RetryPolicy(max_elapsed=30.0))
    with pytest.raises(RateLimited) as info:
        await client.respond(REQUEST)
    assert info.value.retry_after == 100.0
    assert sleeps.waits == []
    assert len(handler.requests) == 1


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx2.ConnectError("refused"), ModelConnectionError),
        (
            httpx2.RemoteProtocolError("Server disconnected without sending a response."),
            ModelConnectionError,
        ),
        (httpx2.ReadTimeout("read timed out"), ModelTimeout),
    ],
)
async def test_transport_failures_are_retried_then_typed(
    exc: Exception, cls: type[Exception]
) -> None:
    handler = Scripted(exc, httpx2.Response(200, json=answer()))
    client, sleeps = make_client(handler)
    response = await client.respond(REQUEST)
    assert response.usage.attempts == 2
    assert len(sleeps.waits) == 1
    failing, _ = make_client(Scripted(exc), retry=RetryPolicy(max_attempts=2, rand=lambda: 0.0))
    with pytest.raises(cls) as info:
        await failing.respond(REQUEST)
    assert info.value.attempts == 2  # type: ignore[attr-defined]


async def test_a_malformed_body_is_a_behaviour_error_not_retried() -> None:
    handler = Scripted(httpx2.Response(200, content=b"<html>oops"))
    client, _sleeps = make_client(handler)
    with pytest.raises(ModelBehaviorError, match="not JSON"):
        await client.respond(REQUEST)
    assert len(handler.requests) == 1


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "2.5"}) == 2.5
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    now = datetime(2025, 1, 1, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now.timestamp()) == pytest.approx(30.0)
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    high = RetryPolicy(base_delay=1.0, max_delay=5.0, rand=lambda: 0.999)
    assert [round(high.backoff(n), 2) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert RetryPolicy(rand=lambda: 0.0).backoff(3) == 0.0


async def test_per_call_timeout_overrides_the_read_timeout() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.extensions["timeout"])
        return httpx2.Response(200, json=answer())

    client, _ = make_client(handler)
    await client.respond(REQUEST)
    await client.respond(ModelRequest(model="grok-4", input=[]))
    await client.respond(ModelRequest(model="grok-4", input=[], timeout=3.0))
    assert [t["read"] for t in seen] == [120.0, 900.0, 3.0]
    assert all(t["connect"] == 10.0 for t in seen)


def test_redaction_masks_keys_but_leaves_short_placeholders_alone() -> None:
    from agentkit.model.http_errors import redact

    assert redact(f"bad key {KEY} and {KEY[:14]}...", KEY) == "bad key [redacted] and [redacted]"
    assert redact("a fake key", "k") == "a fake key"
