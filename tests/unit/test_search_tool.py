"""The client-side web_search tool: filtering, size cap, cache, and what reaches the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.errors import ConfigError
from agentkit.pipeline.execute import execute
from agentkit.pipeline.label import label_output
from agentkit.testing import FakeClock
from agentkit.tool import ToolOutput
from agentkit.tools.search import (
    SearchFailed,
    SearchHit,
    parse_searxng,
    web_search_tool,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "search"


class RecordedBackend:
    """Answers from the recorded result pages in tests/fixtures/search, parsed for real."""

    def __init__(self, page: str = "python-asyncio-timeout.json") -> None:
        self.page = page
        self.calls: list[tuple[str, int]] = []
        self.fail_next = False

    async def search(self, query: str, *, limit: int) -> list[SearchHit]:
        self.calls.append((query, limit))
        if self.fail_next:
            self.fail_next = False
            raise SearchFailed("search service answered HTTP 503")
        return parse_searxng((FIXTURES / self.page).read_bytes(), limit=limit)


class ListBackend:
    def __init__(self, hits: list[SearchHit]) -> None:
        self.hits = hits

    async def search(self, query: str, *, limit: int) -> list[SearchHit]:
        return self.hits[:limit]


async def run(tool: Any, query: str) -> ToolOutput:
    output = await tool.invoke(tool.validate({"query": query}))
    assert isinstance(output, ToolOutput)
    return output


def page(output: ToolOutput) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(output.content)
    return data


async def test_results_are_untrusted_json_data_with_citations() -> None:
    tool = web_search_tool(RecordedBackend(), max_results=3)
    assert tool.name == "web_search"
    assert tool.untrusted_output is True
    assert tool.parameters["required"] == ["query"]
    output = await run(tool, "python asyncio timeout")
    data = page(output)
    assert data["query"] == "python asyncio timeout"
    assert [r["url"] for r in data["results"]] == [
        "https://docs.python.org/3/library/asyncio-task.html",
        "https://peps.python.org/pep-0654/",
        "https://stackoverflow.com/questions/65148164/asyncio-wait-for-vs-asyncio-timeout",
    ]
    assert output.untrusted is True
    assert output.truncated is False
    assert output.citations == tuple(r["url"] for r in data["results"])
    assert set(data["results"][0]) == {"title", "url", "snippet"}


async def test_domain_filters_drop_results_and_ask_for_more() -> None:
    backend = RecordedBackend("mixed-domains.json")
    tool = web_search_tool(
        backend, max_results=5, allowed_domains=["python.org", "pypa.io"], excluded_domains=[]
    )
    output = await run(tool, "python packaging guide")
    assert list(output.citations) == [
        "https://packaging.python.org/en/latest/tutorials/packaging-projects/",
        "https://docs.python.org/3/distributing/index.html",
        "https://setuptools.pypa.io/en/latest/userguide/",
    ]
    assert output.metadata["filtered"] == 2
    assert backend.calls[0][1] > 5, "a filtered search over-fetches to fill the page"


async def test_excluded_domains_cover_subdomains() -> None:
    tool = web_search_tool(RecordedBackend("mixed-domains.json"), excluded_domains=["example.com"])
    output = await run(tool, "python packaging guide")
    assert all("example.com" not in url for url in output.citations)
    assert len(output.citations) == 3  # ftp and url-less entries never become hits


async def test_lookalike_hosts_are_not_allowed_domains() -> None:
    hits = [
        SearchHit("https://docs.python.org.evil.test/x", "fake", ""),
        SearchHit("https://user@docs.python.org/", "userinfo", ""),
        SearchHit("https://DOCS.python.org./3/", "real", ""),
    ]
    tool = web_search_tool(ListBackend(hits), allowed_domains=["docs.python.org"])
    output = await run(tool, "anything")
    assert output.citations == ("https://DOCS.python.org./3/",)


async def test_size_cap_drops_results_then_reports_truncation() -> None:
    tool = web_search_tool(RecordedBackend(), max_results=4, max_chars=700)
    output = await run(tool, "python asyncio timeout")
    assert len(output.content) <= 700
    assert output.truncated is True
    data = page(output)
    assert 0 < len(data["results"]) < 4
    assert data["omitted"] == 4 - len(data["results"])
    assert output.citations == tuple(r["url"] for r in data["results"])


async def test_one_huge_result_is_cut_not_dropped() -> None:
    hits = [SearchHit("https://example.org/a", "A" * 50, "x" * 20_000)]
    tool = web_search_tool(ListBackend(hits), max_chars=500)
    output = await run(tool, "big")
    assert len(output.content) <= 500
    data = page(output)
    assert data["results"][0]["url"] == "https://example.org/a"
    assert data["results"][0]["snippet"].endswith("…")
    assert output.truncated is True


@settings(max_examples=60, deadline=None)
@given(
    snippets=st.lists(st.text(max_size=2000), min_size=0, max_size=8),
    cap=st.integers(min_value=200, max_value=3000),
)
async def test_output_always_fits_the_cap_and_stays_json(snippets: list[str], cap: int) -> None:
    hits = [SearchHit(f"https://s{i}.example/", t, t) for i, t in enumerate(snippets)]
    tool = web_search_tool(ListBackend(hits), max_results=8, max_chars=cap)
    output = await run(tool, 'quote " and \\ backslash')
    assert len(output.content) <= cap
    data = page(output)
    assert output.citations == tuple(r["url"] for r in data["results"])
    assert output.truncated == ("omitted" in data)


async def test_control_and_bidi_characters_are_removed() -> None:
    hits = [SearchHit("https://example.org/", "Title\x1b[31m red", "a\u202eb\u200bc\nd\te")]
    output = await run(web_search_tool(ListBackend(hits)), "q")
    [result] = page(output)["results"]
    assert result["title"] == "Title [31m red"
    assert result["snippet"] == "a b c d e"


async def test_cache_answers_identical_queries_until_the_ttl_passes() -> None:
    backend, clock = RecordedBackend(), FakeClock()
    tool = web_search_tool(backend, cache_ttl=60.0, clock=clock)
    first = await run(tool, "python asyncio timeout")
    again = await run(tool, "  Python   ASYNCIO timeout ")
    assert len(backend.calls) == 1
    assert (first.metadata["cache"], again.metadata["cache"]) == ("miss", "hit")
    assert again.content == first.content
    clock.advance(59.9)
    await run(tool, "python asyncio timeout")
    assert len(backend.calls) == 1
    clock.advance(0.2)
    expired = await run(tool, "python asyncio timeout")
    assert len(backend.calls) == 2
    assert expired.metadata["cache"] == "miss"


async def test_cache_is_off_by_default_and_never_keeps_failures() -> None:
    backend = RecordedBackend()
    plain = web_search_tool(backend)
    await run(plain, "q")
    await run(plain, "q")
    assert len(backend.calls) == 2
    cached = web_search_tool(backend, cache_ttl=30.0, clock=FakeClock())
    backend.fail_next = True
    with pytest.raises(SearchFailed):
        await run(cached, "q")
    await run(cached, "q")
    await run(cached, "q")
    assert len(backend.calls) == 4, "the failure was not cached; the success was"


async def test_failures_reach_the_model_as_tool_errors() -> None:
    backend = RecordedBackend()
    backend.fail_next = True
    tool = web_search_tool(backend)
    result = await execute(tool, {"query": "q"})
    assert result.outcome == "failed"
    assert result.text == "web_search failed: search service answered HTTP 503"
    empty = await execute(tool, {"query": "   "})
    assert empty.outcome == "failed"
    assert "the query is empty" in empty.text
    long = await execute(tool, {"query": "x" * 1001})
    assert "at most 1000" in long.text


async def test_injected_text_is_framed_as_data() -> None:
    tool = web_search_tool(RecordedBackend("disk-full-runbook.json"))
    result = await execute(tool, {"query": "disk full runbook postgres"})
    labelled = label_output(tool.name, result.text, untrusted=result.untrusted)
    assert labelled.untrusted is True
    assert labelled.text.startswith('<untrusted-data source="web_search">')
    assert labelled.text.count("</untrusted-data>") == 1, "the page cannot close the frame"
    assert "ignore previous instructions" in labelled.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_results": 0}, "max_results"),
        ({"max_chars": 50}, "max_chars"),
        ({"cache_ttl": -1.0}, "cache_ttl"),
        ({"allowed_domains": ["https://docs.python.org"]}, "not a bare domain"),
        ({"allowed_domains": []}, "is empty"),
    ],
)
def test_configuration_mistakes(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        web_search_tool(RecordedBackend(), **kwargs)


def test_more_than_five_domains_is_fine_client_side() -> None:
    hosts = [f"site{i}.example" for i in range(8)]
    assert web_search_tool(RecordedBackend(), allowed_domains=hosts).name == "web_search"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "malformed JSON"),
        (b'{"results": {"url": 1}}', "without a 'results' list"),
        (b"[1, 2]", "without a 'results' list"),
        (b"\xff\xfe", "malformed JSON"),
    ],
)
def test_parse_refuses_what_is_not_a_result_page(body: bytes, message: str) -> None:
    with pytest.raises(SearchFailed, match=message):
        parse_searxng(body, limit=5)


def test_parse_skips_unusable_entries() -> None:
    body = json.dumps(
        {
            "results": [
                "not an object",
                {"url": "javascript:alert(1)", "title": "x"},
                {"url": "https://ok.example/", "title": None, "content": 5},
            ]
        }
    ).encode()
    assert parse_searxng(body, limit=5) == [SearchHit("https://ok.example/", "", "")]


async def test_a_long_query_under_a_small_cap_still_fits() -> None:
    hits = [SearchHit("https://example.org/", "t", "s")]
    tool = web_search_tool(ListBackend(hits), max_chars=200)
    output = await run(tool, '"' * 1000)
    assert len(output.content) <= 200
    assert page(output)["omitted"] == 1
    assert output.citations == ()
