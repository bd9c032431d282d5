"""One aiohttp session, bound to one event loop, that turns httpx2 requests into responses."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import httpx2
from yarl import URL

from agentkit.model.transport.aiohttp_errors import as_httpx2
from agentkit.model.transport.body import ResponseBody
from agentkit.model.transport.framing import check_request_head, check_response_head
from agentkit.model.transport.proxies import ProxyRoutes
from agentkit.model.transport.strict import StrictRequest, StrictResponse, UnsolicitedBytes
from agentkit.model.transport.tls import TLSConfig

# each retry takes one more idle connection off the pool; past this many the pool is
# not the problem
_MAX_UNSOLICITED = 64
# httpx2 names these itself when it wants them; aiohttp must not add its own
_NOT_AUTO = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")
_DROPPED = frozenset({b"transfer-encoding"})  # the body is sent whole, with its length
_EVENT_STREAM = "text/event-stream"
_CACHE_LIMIT = 256


class Exchange:
    """Sends httpx2 requests over one aiohttp session; made and used in one event loop."""

    def __init__(
        self,
        tls: TLSConfig,
        routes: ProxyRoutes,
        *,
        max_connections: int | None,
        keepalive_expiry: float,
    ) -> None:
        """A session in the running event loop; `max_connections` None for no limit."""
        self.loop = asyncio.get_running_loop()
        self._tls = tls
        self._routes = routes
        connector = aiohttp.TCPConnector(
            limit=max_connections or 0, keepalive_timeout=keepalive_expiry
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            request_class=StrictRequest,
            response_class=StrictResponse,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx2 keeps the cookies
            skip_auto_headers=_NOT_AUTO,
            auto_decompress=False,  # httpx2 decodes, as with its own transport
            trust_env=False,  # proxies are chosen here (proxies.py), and no netrc lookup
        )
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}
        self._proxy_urls: dict[str, URL] = {}
        self._urls: dict[str, URL] = {}

    async def send(self, request: httpx2.Request) -> httpx2.Response:
        """One request, one response; failures raise httpx2's exceptions."""
        raw = [(n, v) for n, v in request.headers.raw if n.lower() not in _DROPPED]
        check_request_head(request.method, raw)
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw]
        stream = any(n.lower() == "accept" and _EVENT_STREAM in v for n, v in headers)
        body = await request.aread()
        options = self._options(request)
        url = self._url(request.url)
        for _ in range(_MAX_UNSOLICITED):
            try:
                response = await self._session.request(
                    request.method, url, headers=headers, data=body or None, **options
                )
            except UnsolicitedBytes as exc:
                if exc.reused:
                    continue  # nothing was sent: the next connection, or a new one
                raise httpx2.RemoteProtocolError(
                    "the server sent bytes before the request was written"
                ) from exc
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                raise as_httpx2(exc) from exc
            return _to_httpx2(request, response, stream)
        raise httpx2.RemoteProtocolError(
            f"{_MAX_UNSOLICITED} kept-alive connections in a row held unsolicited bytes"
        )

    async def aclose(self) -> None:
        """Close the session and every connection it holds."""
        await self._session.close()

    def _options(self, request: httpx2.Request) -> dict[str, Any]:
        url = request.url
        options: dict[str, Any] = {
            "timeout": self._timeout(request.extensions.get("timeout")),
            "allow_redirects": False,
            "server_hostname": request.extensions.get("sni_hostname"),
        }
        if url.scheme == "https":
            options["ssl"] = self._tls.context()
        if not self._routes.empty:
            port = url.port or (443 if url.scheme == "https" else 80)
            proxy = self._routes.proxy_for(url.scheme, url.raw_host.decode("ascii"), port)
            if proxy is not None:
                options["proxy"] = self._proxy_url(proxy)
        return options

    def _timeout(self, given: dict[str, float | None] | None) -> aiohttp.ClientTimeout:
        key = tuple(given.values()) if given else ()
        cached = self._timeouts.get(key)
        if cached is None:
            cached = _client_timeout(given or {})
            self._timeouts[key] = cached
        return cached

    def _url(self, url: httpx2.URL) -> URL:
        # httpx2 has already checked and encoded it (IDNA 2008 host): yarl must not redo it
        text = str(url)
        parsed = self._urls.get(text)
        if parsed is None:
            if len(self._urls) >= _CACHE_LIMIT:
                self._urls.clear()
            parsed = self._urls[text] = URL(text, encoded=True)
        return parsed

    def _proxy_url(self, proxy: str) -> URL:
        url = self._proxy_urls.get(proxy)
        if url is None:
            url = self._proxy_urls[proxy] = URL(proxy)
        return url


def _client_timeout(given: dict[str, float | None]) -> aiohttp.ClientTimeout:
    connect, read, pool = given.get("connect"), given.get("read"), given.get("pool")
    # aiohttp's `connect` spans waiting for a pool slot, DNS and the handshake; httpx2's
    # `connect` covers the last two, `pool` the first. `read` also bounds the whole head
    # (StrictResponse) and, for an answer that is not an event stream, the whole body.
    whole_connect = None if connect is None else connect + (pool or 0.0)
    return aiohttp.ClientTimeout(
        total=None, connect=whole_connect, sock_connect=connect, sock_read=read
    )


def _to_httpx2(
    request: httpx2.Request, response: aiohttp.ClientResponse, stream: bool
) -> httpx2.Response:
    try:
        check_response_head(response.status, response.raw_headers)
    except httpx2.RemoteProtocolError:
        response.close()
        raise
    deadline = None if stream else getattr(response, "deadline", None)
    version = response.version
    return httpx2.Response(
        response.status,
        headers=response.raw_headers,
        stream=ResponseBody(response, deadline),
        request=request,
        extensions={
            "http_version": b"HTTP/%d.%d" % (version.major, version.minor) if version else b"",
            "reason_phrase": (response.reason or "").encode("utf-8", "surrogateescape"),
        },
    )
