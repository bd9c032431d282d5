"""An endpoint that echoes the API key: the key reaches no error, no RunResult, no CLI output."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest

from agentkit import Agent, tool
from agentkit.cli import main
from agentkit.errors import ModelError, ModelHTTPError
from agentkit.model import ModelRequest, RetryPolicy, XAIClient
from agentkit.testing import FakeTransport, FakeXAI, Fault, serve_in_thread
from agentkit.testing.exchange import HTTPReply, HTTPRequest
from agentkit.testing.replies import json_reply, stream_reply
from agentkit.testing.sse import frame

KEY = "xai-" + "EchoedKey7" * 6
OTHER_KEY = "xai-" + "SomeoneElse9" * 3
ECHOES = (
    f"Incorrect API key provided: {KEY}",
    f"key {KEY[:16]}...{KEY[-4:]} is not valid",
    f"request headers were {{'Authorization': 'Bearer {KEY}'}}",
    f"keys {OTHER_KEY} and {KEY} were both rejected",
)
Handler = Callable[[HTTPRequest], Awaitable[HTTPReply]]


def leaked(text: str) -> list[str]:
    """Which of the key, a long prefix of it, or the other key appear in `text`."""
    return [s for s in (KEY, KEY[:12], OTHER_KEY) if s in text]


def client_for(handler: Handler) -> XAIClient:
    return XAIClient(
        api_key=KEY, transport=FakeTransport(handler), retry=RetryPolicy(max_attempts=1)
    )


async def failure(handler: Handler, *, stream: bool = False) -> ModelError:
    client = client_for(handler)
    try:
        with pytest.raises(ModelError) as caught:
            await client.respond(ModelRequest(model="grok-4", input=[], stream=stream))
    finally:
        await client.aclose()
    return caught.value


def everything_in(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), repr(exc.args), json.dumps(getattr(exc, "body", None))]
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None and not exc.__suppress_context__:
            parts.append(str(linked))
    return "\n".join(parts)


@pytest.mark.parametrize("status", [400, 401, 403, 429, 500])
@pytest.mark.parametrize("echo", ECHOES)
async def test_http_errors_never_carry_the_key(status: int, echo: str) -> None:
    fake = FakeXAI()
    fake.inject(Fault.http(status, message=echo))
    exc = await failure(fake.handle)
    assert isinstance(exc, ModelHTTPError)
    assert leaked(everything_in(exc)) == []
    assert "[redacted]" in str(exc)


@pytest.mark.parametrize("echo", ECHOES)
async def test_a_failed_response_never_carries_the_key(echo: str) -> None:
    body = {"id": "resp_1", "status": "failed", "error": {"message": echo}, "output": []}

    async def handler(request: HTTPRequest) -> HTTPReply:
        return json_reply(body)

    assert leaked(everything_in(await failure(handler))) == []


@pytest.mark.parametrize("echo", ECHOES)
async def test_a_failure_event_in_a_stream_never_carries_the_key(echo: str) -> None:
    event = {"type": "response.failed", "response": {"error": {"message": echo}}}

    async def handler(request: HTTPRequest) -> HTTPReply:
        return stream_reply(
            [frame({"type": "error", "message": echo, "error": echo}), frame(event)]
        )

    assert leaked(everything_in(await failure(handler, stream=True))) == []


@pytest.mark.parametrize("echo", ECHOES)
async def test_a_malformed_stream_event_never_carries_the_key(echo: str) -> None:
    async def handler(request: HTTPRequest) -> HTTPReply:
        return stream_reply([b"data: not json " + echo.encode() + b"\n\n"])

    assert leaked(everything_in(await failure(handler, stream=True))) == []


class Echo(Agent):
    """An agent with one tool, run against the echoing endpoint."""

    @tool
    async def shout(self, text: str) -> str:
        """Shout it."""
        return text.upper()


async def test_run_result_error_never_carries_the_key() -> None:
    fake = FakeXAI()
    fake.inject(Fault.http(401, message=ECHOES[0]))
    agent = Echo(client=client_for(fake.handle))
    try:
        with pytest.raises(ModelError) as caught:
            await agent.run("hi")
    finally:
        await agent.client.aclose()
    result = caught.value.run
    assert result is not None
    assert result.error is not None
    assert leaked(result.to_json()) == []
    assert leaked(str(result.error)) == []


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_output_never_carries_the_key(
    as_json: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XAI_API_KEY", KEY)
    fake = FakeXAI()
    fake.inject(Fault.http(401, message=" / ".join(ECHOES)))
    with serve_in_thread(fake) as server:
        argv = ["run", f"{__name__}:Echo", "hi", "--base-url", server.base_url]
        main(argv + (["--json"] if as_json else []))
    out, err = capsys.readouterr()
    assert "401" in out + err
    assert leaked(out + err) == []


def test_scrub_leaves_ordinary_messages_alone() -> None:
    from agentkit.model.http_errors import scrub

    text = "model grok-4 does not exist; see https://docs.x.ai (request 1)"
    assert scrub(text, KEY) == text
    assert scrub("Bearer authentication failed", KEY) == "Bearer authentication failed"
