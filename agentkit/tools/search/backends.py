"""Client-side search backends: where the `web_search` tool sends a query.

For teams that must route search through an approved index instead of xAI's own search.
A backend is anything with ``async search(query, *, limit) -> list[SearchHit]``;
`SearxngBackend` speaks the SearXNG JSON API (``GET /search?q=...&format=json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import httpx2

from agentkit.errors import SearchFailed

DEFAULT_BACKEND_TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
"""A result page larger than this is refused rather than parsed."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result, as text from an untrusted source."""

    url: str
    title: str
    snippet: str = ""


class SearchBackend(Protocol):
    """The seam between the `web_search` tool and a search service."""

    async def search(self, query: str, *, limit: int) -> list[SearchHit]:
        """At most ``limit`` hits for ``query``, best first.

        Raises:
            SearchFailed: the service could not answer; the message says why.
        """
        ...


class SearxngBackend:
    """A SearXNG-style JSON search service.

    Example:
        >>> backend = SearxngBackend("https://search.internal.example")
        >>> hits = await backend.search("asyncio timeout", limit=5)  # doctest: +SKIP

    Args:
        base_url: The service root; ``/search`` is appended.
        http: A client to reuse (its transport, proxies, auth); by default one is made per
            search, so the backend works from any event loop.
        timeout: Seconds for connecting and for reading the reply.
        params: Extra query parameters sent with every search (``language``, ``categories``,
            ``safesearch``...).
    """

    def __init__(
        self,
        base_url: str,
        http: httpx2.AsyncClient | None = None,
        *,
        timeout: float = DEFAULT_BACKEND_TIMEOUT,
        params: dict[str, str] | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/search"
        self._http = http
        self._timeout = timeout
        self._params = dict(params or {})

    def __repr__(self) -> str:
        return f"SearxngBackend({self.url!r})"

    async def search(self, query: str, *, limit: int) -> list[SearchHit]:
        """At most ``limit`` hits for ``query``.

        Raises:
            SearchFailed: an HTTP error status, a timeout, a connection failure, or a
                reply that is not the expected JSON.
        """
        body = await self._fetch(query)
        return parse_searxng(body, limit=limit, source=self.url)

    async def _fetch(self, query: str) -> bytes:
        params = {**self._params, "q": query, "format": "json"}
        try:
            if self._http is not None:
                return await self._get(self._http, params)
            async with httpx2.AsyncClient() as http:
                return await self._get(http, params)
        except httpx2.TimeoutException as exc:
            raise SearchFailed(
                f"search service {self.url} did not answer within {self._timeout:g} s"
            ) from exc
        except httpx2.HTTPError as exc:
            raise SearchFailed(
                f"search service {self.url} could not be reached: {type(exc).__name__}"
            ) from exc

    async def _get(self, http: httpx2.AsyncClient, params: dict[str, str]) -> bytes:
        headers = {"Accept": "application/json", "User-Agent": "agentkit/0.1"}
        async with http.stream(
            "GET", self.url, params=params, headers=headers, timeout=self._timeout
        ) as response:
            if response.status_code != 200:
                raise SearchFailed(
                    f"search service {self.url} answered HTTP {response.status_code}"
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise SearchFailed(
                        f"search service {self.url} sent more than {MAX_RESPONSE_BYTES} bytes"
                    )
                chunks.append(chunk)
            return b"".join(chunks)


def parse_searxng(body: bytes, *, limit: int, source: str = "search service") -> list[SearchHit]:
    """The hits of a SearXNG JSON reply; entries without an http(s) URL are skipped.

    Raises:
        SearchFailed: the body is not JSON, or not an object with a ``results`` list.
    """
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SearchFailed(f"{source} answered with malformed JSON ({exc})") from exc
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise SearchFailed(f"{source} answered JSON without a 'results' list")
    hits: list[SearchHit] = []
    for entry in results:
        hit = _hit(entry)
        if hit is not None:
            hits.append(hit)
        if len(hits) >= limit:
            break
    return hits


def _hit(entry: Any) -> SearchHit | None:
    if not isinstance(entry, dict):
        return None
    url = entry.get("url")
    if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
        return None
    title = entry.get("title")
    content = entry.get("content")
    return SearchHit(
        url=url,
        title=title if isinstance(title, str) else "",
        snippet=content if isinstance(content, str) else "",
    )
