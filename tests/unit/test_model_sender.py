"""Both ways a request reaches the wire: a caller's httpx2 client whole, or straight to a transport.

A client passed as ``http=`` keeps everything it was configured with (base headers,
event hooks, auth) and stays open after ``aclose``; a client XAIClient builds itself
sends the same request straight to its transport, timeouts in the request extensions.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx2
import pytest

from agentkit.errors import ModelConnectionError, ServerError
from agentkit.model import ModelRequest, RetryPolicy, Timeouts, XAIClient

KEY = "xai-test-secret-0123456789abcdef"
REQUEST = ModelRequest(
    model="grok-4-1-fast-non-reasoning", input=[{"role": "user", "content": "hi"}]
)


def answer(text: str) -> dict[str, Any]:
    """A minimal completed Responses body."""
    message = {"type": "output_text", "text": text, "annotations": []}
    return {
        "id": "resp-1",
        "object": "response",
        "model": REQUEST.model,
        "status": "completed",
        "output": [{"type": "message", "id": "m1", "role": "assistant", "content": [message]}],
        "usage": {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12},
    }


class Scripted:
    """A MockTransport handler replaying replies in order (the last one forever)."""

    def __init__(self, *replies: httpx2.Response | Exception) -> None:
        self.replies = list(replies)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return reply


class Sleeps:
    """An injected sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _request(stream: bool = False) -> ModelRequest:
    return dataclasses.replace(REQUEST, stream=stream)


def _sse(text: str) -> bytes:
    done = {"type": "response.completed", "response": answer(text)}
    return f"event: response.completed\ndata: {json.dumps(done)}\n\n".encode()


async def test_a_callers_client_keeps_its_headers_hooks_and_auth_and_stays_open() -> None:
    handler = Scripted(httpx2.Response(200, json=answer("via the caller's client")))
    hooked: list[str] = []

    async def hook(request: httpx2.Request) -> None:
        hooked.append(request.headers["x-request-id"])

    http = httpx2.AsyncClient(
        transport=httpx2.MockTransport(handler),
        headers={"X-Org": "acme"},
        event_hooks={"request": [hook]},
    )
    client = XAIClient(api_key=KEY, http=http)
    response = await client.respond(_request())
    await client.aclose()
    [sent] = handler.requests
    assert response.text == "via the caller's client"
    assert sent.headers["x-org"] == "acme"
    assert hooked == [sent.headers["x-request-id"]]
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert not http.is_closed
    await http.aclose()


@pytest.mark.parametrize("stream", [False, True])
async def test_its_own_client_hands_the_transport_the_whole_request(stream: bool) -> None:
    body = (
        httpx2.Response(
            200, content=_sse("streamed"), headers={"content-type": "text/event-stream"}
        )
        if stream
        else httpx2.Response(200, json=answer("whole"))
    )
    handler = Scripted(body)
    client = XAIClient(
        api_key=KEY,
        base_url="http://127.0.0.1:9/v1",
        transport=httpx2.MockTransport(handler),
        timeouts=Timeouts(connect=1.5, read=7.0, write=2.5, pool=0.5),
    )
    async with client:
        response = await client.respond(_request(stream))
    [sent] = handler.requests
    assert response.text == ("streamed" if stream else "whole")
    assert sent.url == "http://127.0.0.1:9/v1/responses"
    assert sent.headers["host"] == "127.0.0.1:9"
    assert int(sent.headers["content-length"]) == len(sent.content)
    assert json.loads(sent.content)["model"] == REQUEST.model
    assert sent.headers["accept"] == ("text/event-stream" if stream else "application/json")
    assert sent.headers["user-agent"] == "agentkit/0.1"
    assert sent.extensions["timeout"] == {"connect": 1.5, "read": 7.0, "write": 2.5, "pool": 0.5}


async def test_its_own_client_closes_the_transport() -> None:
    closed: list[bool] = []

    class Closing(httpx2.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    client = XAIClient(api_key=KEY, transport=Closing(Scripted(httpx2.Response(200))))
    await client.aclose()
    assert closed == [True]


@pytest.mark.parametrize("own", [True, False])
async def test_both_ways_retry_a_server_error_and_map_a_transport_failure(own: bool) -> None:
    handler = Scripted(
        httpx2.Response(503, json={"error": "busy"}),
        httpx2.ConnectError("refused"),
        httpx2.Response(200, json=answer("third time")),
    )
    transport = httpx2.MockTransport(handler)
    sleeps = Sleeps()
    route = {"transport": transport} if own else {"http": httpx2.AsyncClient(transport=transport)}
    client = XAIClient(api_key=KEY, sleep=sleeps, retry=RetryPolicy(rand=lambda: 0.5), **route)
    response = await client.respond(_request())
    assert (response.text, response.usage.attempts, len(sleeps.waits)) == ("third time", 3, 2)
    once = XAIClient(api_key=KEY, sleep=sleeps, retry=RetryPolicy(max_attempts=1), **route)
    handler.replies = [httpx2.ConnectError("refused")]
    with pytest.raises(ModelConnectionError):
        await once.respond(_request())
    handler.replies = [httpx2.Response(500, json={"error": "down"})]
    with pytest.raises(ServerError):
        await once.respond(_request())
