"""Each xAI wire fact of issue #12, through the real client against the fake over loopback HTTP.

One test (or a few) per fact; each asserts the behaviour that matters to a caller, not
how it is implemented. The sources of the facts are cited in docs/model-client.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from agentkit.errors import (
    BadRequest,
    ConfigError,
    Overloaded,
    QuotaExhausted,
    ServerError,
    StreamInterrupted,
)
from agentkit.model import ModelRequest, RetryPolicy, Usage, XAIClient
from agentkit.testing import FakeServer, FakeXAI, Fault, Script, Turn, serve_in_thread

MODEL = "grok-4-1-fast-non-reasoning"
REQUEST = ModelRequest(model=MODEL, input=[{"role": "user", "content": "status of ticket 42?"}])


def function_tool(number: int) -> dict[str, Any]:
    return {
        "type": "function",
        "name": f"tool_{number}",
        "description": "A tool.",
        "parameters": {"type": "object", "properties": {}},
    }


class NoSleep:
    """Records the waits the client asks for, without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def fake() -> FakeXAI:
    return FakeXAI(Script([Turn.text("open")]))


@pytest.fixture
def server(fake: FakeXAI) -> Iterator[FakeServer]:
    with serve_in_thread(fake) as running:
        yield running


def client(server: FakeServer, **kwargs: Any) -> tuple[XAIClient, NoSleep, list[Usage]]:
    sleep = NoSleep()
    usages: list[Usage] = []
    kwargs.setdefault("retry", RetryPolicy(base_delay=0.01))
    made = XAIClient(
        api_key="xai-loopback-test",
        base_url=server.base_url,
        sleep=sleep,
        usage_sink=usages.append,
        **kwargs,
    )
    return made, sleep, usages


# --- up to 350 tools per request ------------------------------------------------------------


async def test_350_tools_go_out_and_351_are_refused_before_any_request(
    fake: FakeXAI, server: FakeServer
) -> None:
    model, _, usages = client(server)
    tools = [function_tool(n) for n in range(351)]
    async with model:
        answer = await model.respond(dataclasses.replace(REQUEST, tools=tools[:350]))
        with pytest.raises(ConfigError, match=r"carries 351 tools.*at most 350"):
            await model.respond(dataclasses.replace(REQUEST, tools=tools))
    assert answer.text == "open"
    assert len(fake.requests[0].json["tools"]) == 350
    assert fake.count(None) == 1  # the refused request never left
    assert len(usages) == 1


# --- SSE: `event: ping` keep-alives and a final `data: [DONE]` ----------------------------------


@pytest.mark.parametrize("endpoint", ["responses", "chat"])
async def test_pings_and_done_do_not_change_a_streamed_answer(endpoint: str) -> None:
    turns = Script([Turn(answer="All green. " * 20, reasoning="Checked the status page.")])
    pinging, quiet = FakeXAI(turns, ping_every=1), FakeXAI(turns)
    request = dataclasses.replace(REQUEST, model="grok-3-mini", stream=True)
    answers = []
    for fake in (pinging, quiet):
        with serve_in_thread(fake) as server:
            model, _, _ = client(server, endpoint=endpoint)
            async with model:
                answers.append(await model.respond(request))
    with serve_in_thread(pinging) as server:
        async with httpx2.AsyncClient(base_url=server.base_url) as http:
            raw = await http.post(
                "/responses" if endpoint == "responses" else "/chat/completions",
                json={"model": "grok-3-mini", "input": "hi", "messages": [], "stream": True},
            )
    assert raw.text.count("event: ping\n\n") > 5
    assert raw.text.endswith("data: [DONE]\n\n")
    pinged, plain = answers
    assert pinged.text == plain.text == "All green. " * 20
    assert pinged.usage.status == "completed"
    assert pinged.usage.attempts == 1


async def test_a_streamed_text_holding_unicode_line_separators_is_read_whole() -> None:
    # JSON may carry U+2028, U+0085 or U+001C unescaped (the fake, like serde_json, does): only
    # CR and LF end an SSE line, so a reader that splits on every Unicode line break cuts the event
    text = "line\u2028separator, next\x85line, file\x1cseparator"
    with serve_in_thread(FakeXAI(Script([Turn.text(text)]))) as server:
        model, _, _ = client(server)
        async with model:
            answer = await model.respond(dataclasses.replace(REQUEST, stream=True))
    assert answer.text == text


# --- x-request-id: xAI's id beside agentkit's own X-Request-Id ---------------------------------


async def test_xais_request_id_is_on_the_usage_beside_ours(
    fake: FakeXAI, server: FakeServer
) -> None:
    fake.inject(Fault.http(503))
    model, _, usages = client(server)
    async with model:
        answer = await model.respond(REQUEST)
    failed, answered = fake.requests
    assert answer.usage.request_id == failed.request_id == answered.request_id  # ours, reused
    assert answer.usage.server_request_id == answered.server_request_id  # theirs, the last one
    assert answered.server_request_id not in (failed.server_request_id, answer.usage.request_id)
    assert usages == [answer.usage]


@pytest.mark.parametrize("stream", [False, True])
async def test_xais_request_id_is_on_errors_and_their_usage(
    fake: FakeXAI, server: FakeServer, stream: bool
) -> None:
    fake.inject(Fault.http(400, message="Argument not supported on this model: stop"))
    model, _, usages = client(server)
    async with model:
        with pytest.raises(BadRequest) as info:
            await model.respond(dataclasses.replace(REQUEST, stream=stream))
    [sent] = fake.requests
    error = info.value
    assert (error.request_id, error.server_request_id) == (sent.request_id, sent.server_request_id)
    assert f"xAI x-request-id {sent.server_request_id}" in str(error)
    assert f"request {sent.request_id}" in str(error)
    assert usages[0].server_request_id == sent.server_request_id


async def test_a_stream_broken_midway_names_xais_request_id(
    fake: FakeXAI, server: FakeServer
) -> None:
    fake.inject(Fault.truncate_stream(after_events=4))
    model, _, _ = client(server)
    async with model:
        with pytest.raises(StreamInterrupted) as info:
            await model.respond(dataclasses.replace(REQUEST, stream=True))
    assert info.value.server_request_id == fake.requests[0].server_request_id


# --- retries: 429 always (not when credits are gone), 529 = overloaded, no silent restarts -------


async def test_a_529_then_a_200_is_retried_with_backoff_and_succeeds(
    fake: FakeXAI, server: FakeServer
) -> None:
    fake.inject(Fault.overloaded())
    model, sleep, usages = client(server)
    async with model:
        answer = await model.respond(REQUEST)
    assert answer.text == "open"
    assert answer.usage.attempts == 2
    assert len(sleep.waits) == 1
    assert {r.request_id for r in fake.requests} == {answer.usage.request_id}
    assert usages == [answer.usage]


async def test_529s_past_the_attempt_cap_raise_overloaded(
    fake: FakeXAI, server: FakeServer
) -> None:
    fake.inject(Fault.overloaded(), times=5)
    model, _, _ = client(server, retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    async with model:
        with pytest.raises(Overloaded) as info:
            await model.respond(REQUEST)
    assert (info.value.status_code, info.value.attempts) == (529, 3)
    assert fake.count("/v1/responses") == 3


@pytest.mark.parametrize("stream", [False, True])
async def test_a_429_is_retried_but_not_when_the_credits_are_gone(
    fake: FakeXAI, server: FakeServer, stream: bool
) -> None:
    fake.inject(Fault.http(429))
    model, _, _ = client(server)
    request = dataclasses.replace(REQUEST, stream=stream)
    async with model:
        assert (await model.respond(request)).usage.attempts == 2
        fake.inject(Fault.quota_exhausted())
        with pytest.raises(QuotaExhausted, match="used all available credits"):
            await model.respond(request)
    assert fake.count("/v1/responses") == 3


@pytest.mark.parametrize(("endpoint", "after"), [("responses", 6), ("chat", 2)])
async def test_a_partly_streamed_answer_then_a_500_raises_and_is_not_restarted(
    fake: FakeXAI, server: FakeServer, endpoint: str, after: int
) -> None:
    fake.inject(Fault.stream_error(after_events=after, status=500))
    model, sleep, usages = client(server, endpoint=endpoint)
    async with model:
        with pytest.raises(StreamInterrupted, match="not sent again") as info:
            await model.respond(dataclasses.replace(REQUEST, stream=True))
    assert info.value.status_code == 500
    assert info.value.request_id == fake.requests[0].request_id
    assert fake.count(None) == 1  # never silently restarted
    assert sleep.waits == []
    assert usages[0].status == "error:StreamInterrupted"


@pytest.mark.parametrize(("status", "error"), [(503, ServerError), (529, Overloaded)])
async def test_a_stream_error_before_any_output_is_retried(
    fake: FakeXAI, server: FakeServer, status: int, error: type[Exception]
) -> None:
    # after response.created nothing of the answer has arrived: sending again loses nothing
    fake.inject(Fault.stream_error(after_events=1, status=status))
    model, sleep, _ = client(server)
    async with model:
        answer = await model.respond(dataclasses.replace(REQUEST, stream=True))
        fake.inject(Fault.stream_error(after_events=2, status=status), times=9)
        with pytest.raises(error):
            await model.respond(dataclasses.replace(REQUEST, stream=True))
    assert answer.text == "open"
    assert answer.usage.attempts == 2
    assert len(sleep.waits) == 1 + 3


async def test_a_stream_cut_before_output_is_retried_and_after_output_is_not(
    fake: FakeXAI, server: FakeServer
) -> None:
    model, _, _ = client(server)
    stream = dataclasses.replace(REQUEST, stream=True)
    async with model:
        fake.inject(Fault.truncate_stream(after_events=2))  # created, in_progress
        assert (await model.respond(stream)).usage.attempts == 2
        fake.inject(Fault.truncate_stream(after_events=4))  # ... output_item.added, part
        with pytest.raises(StreamInterrupted):
            await model.respond(stream)
    assert fake.count("/v1/responses") == 3


# --- status "incomplete": surfaced, never taken as a whole answer --------------------------------


@pytest.mark.parametrize("endpoint", ["responses", "chat"])
async def test_an_incomplete_answer_says_so_plain_and_streamed(endpoint: str) -> None:
    stopped = Turn(answer="The first half of", incomplete="max_time_limit")
    fake = FakeXAI(lambda body: stopped)
    with serve_in_thread(fake) as server:
        model, _, usages = client(server, endpoint=endpoint)
        async with model:
            plain = await model.respond(REQUEST)
            streamed = await model.respond(dataclasses.replace(REQUEST, stream=True))
    reason = "max_time_limit" if endpoint == "responses" else "max_output_tokens"  # chat: "length"
    for answer in (plain, streamed):
        assert (answer.status, answer.incomplete_reason) == ("incomplete", reason)
        assert answer.text == "The first half of"
    assert [u.status for u in usages] == ["incomplete", "incomplete"]


async def test_max_output_tokens_caps_the_visible_text_but_not_the_reasoning() -> None:
    long = "word " * 400
    fake = FakeXAI(Script([Turn.text(long)]))
    request = dataclasses.replace(REQUEST, model="grok-3-mini", max_output_tokens=10)
    with serve_in_thread(fake) as server:
        model, _, _ = client(server)
        async with model:
            answer = await model.respond(request)
    assert (answer.status, answer.incomplete_reason) == ("incomplete", "max_output_tokens")
    assert len(answer.text) <= 40
    usage = answer.usage
    assert usage.reasoning_tokens >= 50 * request.max_output_tokens  # reasoning is not capped
    assert usage.output_tokens == usage.reasoning_tokens + 10  # and is billed as output
    assert usage.cost_usd > 0


# --- X search is billed per item fetched; xAI's own cost is preferred ----------------------------


@pytest.mark.parametrize("report_cost", [True, False])
async def test_an_x_search_reports_the_posts_it_fetched(report_cost: bool) -> None:
    posts = [{"url": f"https://x.com/xai/status/{n}"} for n in range(3)]
    search = Turn.search(kind="x", query="grok", results=posts, text="Three posts.")
    fake = FakeXAI(Script([search]), report_cost=report_cost)
    with serve_in_thread(fake) as server:
        model, _, _ = client(server)
        async with model:
            answer = await model.respond(dataclasses.replace(REQUEST, tools=[{"type": "x_search"}]))
    [call] = answer.server_tool_calls
    assert (call.type, call.tool) == ("custom_tool_call", "x_search")
    assert answer.function_calls == []
    assert answer.usage.server_tool_usage == {"x_search_calls": 1, "x_posts_fetched": 3}
    if report_cost:
        assert answer.usage.cost_source == "api"
    else:  # no per-item price is known: the cost is not guessed
        assert answer.usage.cost_source == "unknown"
