"""Input size by the model's tokenizer (``/v1/tokenize-text``): asked only when the
estimate is near a rule's bound, each piece of text counted once, and an answer the
router can still route by when the tokenizer fails."""

from __future__ import annotations

import pytest

from agentkit.model.router import Router, RouterSpec
from agentkit.model.token_count import TokenizeCounter, TokenizeError
from agentkit.model.types import ModelRequest
from agentkit.testing import FakeXAI
from agentkit.testing.fake_tokenizer import tokens_of

BASE = "http://fake.invalid/v1"


def _counter(fake: FakeXAI) -> TokenizeCounter:
    return TokenizeCounter(api_key="k", base_url=BASE, transport=fake.transport())


def _request(text: str, history: list[object] | None = None) -> ModelRequest:
    items = [*(history or []), {"role": "user", "content": text}]
    return ModelRequest(model="grok-4", input=items, instructions="be brief")


async def test_the_count_is_the_tokenizer_s_and_known_pieces_are_not_asked_again() -> None:
    fake = FakeXAI()
    counter = _counter(fake)
    first = _request("hello there, world")
    count = await counter.count(first)
    assert count == len(tokens_of("be brief")) + len(
        tokens_of('{"content":"hello there, world","role":"user"}')
    )
    asked = fake.count("/v1/tokenize-text")
    assert asked == 2
    grown = _request("and again", history=list(first.input))
    await counter.count(grown)
    assert fake.count("/v1/tokenize-text") == asked + 1  # only the new message
    await counter.aclose()


async def test_a_bad_answer_is_a_typed_error() -> None:
    fake = FakeXAI()
    counter = _counter(fake)
    with pytest.raises(TokenizeError, match="422"):
        await counter.count_text("x", "")  # the fake refuses a request without a model
    await counter.aclose()


def _router(counter: TokenizeCounter) -> Router:
    spec = RouterSpec.model_validate({
        "default": "small",
        "rules": [{"id": "long", "when": {"min_input_tokens": 1000}, "model": "big"}],
    })  # fmt: skip
    return Router(spec, counter=counter)


async def test_the_router_asks_the_tokenizer_only_near_a_bound() -> None:
    fake = FakeXAI()
    router = _router(_counter(fake))
    far = await router.route(_request("short"))
    assert (far.rule, far.counted_by) == ("default", "estimate")
    assert fake.count("/v1/tokenize-text") == 0
    # about 1,000 tokens by the estimate, and more by the fake tokenizer (a space is a token)
    near = await router.route(_request("ab " * 1300))
    assert near.counted_by == "tokenizer"
    assert near.rule == "long"
    assert near.models == ("big",)
    assert near.input_tokens > 1000


async def test_when_the_tokenizer_fails_the_estimate_decides() -> None:
    fake = FakeXAI()
    router = _router(_counter(fake))
    refused = ModelRequest(model="", input=[{"role": "user", "content": "ab " * 1300}])
    route = await router.route(refused)
    assert fake.count("/v1/tokenize-text") == 1
    assert (route.counted_by, route.rule) == ("estimate", "default")
