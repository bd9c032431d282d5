"""The fake's prompt cache holds the prefix a request shares with the last one under its
name and model: an edit anywhere ends the shared prefix there, whatever the history."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from agentkit.testing.fake_usage import count_tokens
from agentkit.testing.prompt_cache import PromptCache

_items = st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=8)


def _body(items: list[str], model: str = "grok-4", key: str | None = "conv") -> dict[str, object]:
    body: dict[str, object] = {"model": model, "instructions": "be brief", "input": items}
    if key is not None:
        body["prompt_cache_key"] = key
    return body


def _tokens(*parts: object) -> int:
    return sum(count_tokens(json.dumps(p, sort_keys=True, separators=(",", ":"))) for p in parts)


@given(first=_items, edit=st.integers(min_value=0, max_value=7), suffix=_items)
def test_the_cached_prefix_ends_at_the_first_edited_item(
    first: list[str], edit: int, suffix: list[str]
) -> None:
    cache = PromptCache()
    assert cache.cached_tokens(_body(first), {}, "responses", 10**9) == 0
    edit = min(edit, len(first))
    second = [*first[:edit], *(s + "!" for s in suffix)]
    got = cache.cached_tokens(_body(second), {}, "responses", 10**9)
    assert got == _tokens("be brief", None, *first[:edit])


@given(items=_items)
def test_another_name_or_model_or_no_name_shares_nothing(items: list[str]) -> None:
    cache = PromptCache()
    cache.cached_tokens(_body(items), {}, "responses", 10**9)
    assert cache.cached_tokens(_body(items, key="other"), {}, "responses", 10**9) == 0
    assert cache.cached_tokens(_body(items, model="grok-3"), {}, "responses", 10**9) == 0
    assert cache.cached_tokens(_body(items, key=None), {}, "responses", 10**9) == 0
    assert cache.cached_tokens(_body(items), {}, "responses", 5) <= 5


def test_chat_names_its_cache_in_the_conversation_header() -> None:
    cache = PromptCache()
    body = {"model": "grok-4", "messages": [{"role": "user", "content": "hi"}]}
    assert cache.cached_tokens(body, {"x-grok-conv-id": "c1"}, "chat", 10**9) == 0
    assert cache.cached_tokens(body, {"x-grok-conv-id": "c1"}, "chat", 10**9) > 0
    assert cache.cached_tokens(body, {}, "chat", 10**9) == 0
