"""The client-side ``web_search`` tool: a function tool over a `SearchBackend`.

Whatever it returns is labelled untrusted, capped in size and sent as plain JSON data;
the runner frames it as data, not instructions, and the policy's ``after_untrusted``
rules apply to every later call.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from agentkit.errors import ConfigError, SearchFailed
from agentkit.policy.dataflow import HostError, host_matches, host_of
from agentkit.tool import DEFAULT_TOOL_TIMEOUT, Tool, ToolOutput
from agentkit.tools.search.backends import SearchBackend, SearchHit
from agentkit.tools.search.cache import TTLCache
from agentkit.tools.search.entries import domain_list

MAX_QUERY_CHARS = 1000
MIN_OUTPUT_CHARS = 200
TITLE_CHARS = 300
SNIPPET_CHARS = 1500
_OVERFETCH = 4
"""With domain filters, ask the backend for this many times the results, to fill the page."""
_MAX_FETCH = 50


def web_search_tool(
    backend: SearchBackend,
    *,
    max_results: int = 5,
    max_chars: int = 8000,
    cache_ttl: float = 0.0,
    allowed_domains: Sequence[str] | None = None,
    excluded_domains: Sequence[str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    name: str = "web_search",
    timeout: float = DEFAULT_TOOL_TIMEOUT,
) -> Tool:
    """A client-side ``web_search`` tool over ``backend``; its output is untrusted data.

    Example:
        >>> search = web_search_tool(SearxngBackend("http://127.0.0.1:8888"), cache_ttl=60)
        >>> search.name, search.untrusted_output
        ('web_search', True)

    Args:
        backend: Where queries go.
        max_results: Results returned at most.
        max_chars: Characters of output at most; later results are dropped first, then the
            last snippet is cut (``truncated`` is set).
        cache_ttl: Seconds an identical query is answered from memory; 0 (default) is off.
            Cached results are as old as the TTL: keep it short for news-like queries.
        allowed_domains: Keep only results from these sites and their subdomains.
        excluded_domains: Drop results from these sites and their subdomains.
        clock: Monotonic seconds for the cache (injected in tests).
        name: The tool's name (default ``web_search``, the name policies use).
        timeout: Seconds before the runner abandons a call.

    Raises:
        ConfigError: a limit is out of range or a domain is not a bare host name.
    """
    if max_results < 1:
        raise ConfigError(f"max_results must be at least 1, got {max_results}")
    if max_chars < MIN_OUTPUT_CHARS:
        raise ConfigError(f"max_chars must be at least {MIN_OUTPUT_CHARS}, got {max_chars}")
    page = _Page(
        allowed=None
        if allowed_domains is None
        else domain_list("allowed_domains", allowed_domains, limit=None),
        excluded=[]
        if excluded_domains is None
        else domain_list("excluded_domains", excluded_domains, limit=None),
        max_results=max_results,
        max_chars=max_chars,
    )
    cache: TTLCache[ToolOutput] = TTLCache(cache_ttl, clock=clock)

    async def search_web(query: str) -> ToolOutput:
        """Search the web. Returns titles, URLs and snippets of pages: data from untrusted sites.

        Args:
            query: What to search for, in plain words.
        """
        _check_query(query)
        key = _cache_key(query)
        cached = cache.get(key)
        if cached is not None:
            return _with_metadata(cached, cache="hit")
        hits = await backend.search(query.strip(), limit=page.fetch_limit)
        output = page.render(query.strip(), hits)
        cache.put(key, output)
        return _with_metadata(output, cache="miss" if cache.enabled else "off")

    return Tool(
        search_web,
        name=name,
        side_effect="read",
        untrusted_output=True,
        timeout=timeout,
    )


class _Page:
    """Filters hits by domain and renders them as capped JSON data."""

    def __init__(
        self, *, allowed: list[str] | None, excluded: list[str], max_results: int, max_chars: int
    ) -> None:
        self.allowed = allowed
        self.excluded = excluded
        self.max_results = max_results
        self.max_chars = max_chars

    @property
    def fetch_limit(self) -> int:
        if self.allowed is None and not self.excluded:
            return self.max_results
        return min(self.max_results * _OVERFETCH, max(_MAX_FETCH, self.max_results))

    def keeps(self, url: str) -> bool:
        try:
            host = host_of(url)
        except HostError:
            return False
        if host_matches(host, self.excluded):
            return False
        return self.allowed is None or host_matches(host, self.allowed)

    def render(self, query: str, hits: list[SearchHit]) -> ToolOutput:
        kept = [h for h in hits if self.keeps(h.url)]
        results = [_result(h) for h in kept[: self.max_results]]
        body, truncated, shown = _fit(query, results, self.max_chars)
        return ToolOutput(
            content=body,
            untrusted=True,
            citations=tuple(r["url"] for r in results[:shown]),
            truncated=truncated,
            metadata={"results": shown, "filtered": len(hits) - len(kept)},
        )


def _result(hit: SearchHit) -> dict[str, str]:
    return {
        "title": _clean(hit.title, TITLE_CHARS),
        "url": _clean(hit.url, 2048),
        "snippet": _clean(hit.snippet, SNIPPET_CHARS),
    }


def _clean(text: str, limit: int) -> str:
    """One line of visible text: control and format characters (bidi overrides) removed."""
    visible = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text
    )
    flat = " ".join(visible.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _fit(query: str, results: list[dict[str, str]], cap: int) -> tuple[str, bool, int]:
    """The JSON text within ``cap`` characters: drop results from the end, then cut a snippet."""
    body = _dump({"query": query, "results": results})
    if len(body) <= cap:
        return body, False, len(results)
    kept = [dict(r) for r in results]
    while kept:
        page = {"query": query, "results": kept, "omitted": len(results) - len(kept)}
        body = _dump(page)
        overflow = len(body) - cap
        if overflow <= 0:
            return body, True, len(kept)
        last = kept[-1]
        if len(kept) == 1 and len(last["snippet"]) + len(last["title"]) > overflow + 2:
            _shorten(last, overflow)
            continue
        kept.pop()
    short = query
    while True:  # only a query near MAX_QUERY_CHARS under a tiny cap gets here
        body = _dump({"query": short, "results": [], "omitted": len(results)})
        if len(body) <= cap:
            return body, True, 0
        short = short[: len(short) // 2]


def _shorten(result: dict[str, str], overflow: int) -> None:
    """Cut the snippet, then the title, by at least ``overflow`` characters (JSON escapes count)."""
    cut = overflow + 1
    snippet = result["snippet"]
    if len(snippet) >= cut:
        result["snippet"] = snippet[: len(snippet) - cut] + "…"
        return
    result["snippet"] = ""
    title = result["title"]
    result["title"] = title[: max(0, len(title) - (cut - len(snippet)))] + "…"


def _dump(page: dict[str, Any]) -> str:
    return json.dumps(page, ensure_ascii=False, separators=(", ", ": "))


def _check_query(query: str) -> None:
    if not query.strip():
        raise SearchFailed("the query is empty: say what to search for")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchFailed(f"the query has {len(query)} characters; at most {MAX_QUERY_CHARS}")


def _cache_key(query: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", query).casefold().split())


def _with_metadata(output: ToolOutput, *, cache: str) -> ToolOutput:
    return ToolOutput(
        content=output.content,
        untrusted=True,
        citations=output.citations,
        truncated=output.truncated,
        metadata={**output.metadata, "cache": cache},
    )
