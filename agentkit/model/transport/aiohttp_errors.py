"""aiohttp's exceptions as httpx2's, so XAIClient maps and retries them unchanged."""

from __future__ import annotations

import aiohttp
import httpx2

# most specific first: the first class an exception is an instance of decides
_MAP: tuple[tuple[type[BaseException], type[httpx2.TransportError]], ...] = (
    (aiohttp.ClientProxyConnectionError, httpx2.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx2.ProxyError),
    (aiohttp.ConnectionTimeoutError, httpx2.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx2.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx2.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx2.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx2.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx2.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx2.RemoteProtocolError),
    (aiohttp.InvalidURL, httpx2.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx2.UnsupportedProtocol),
    (aiohttp.ClientConnectionError, httpx2.ReadError),
    (aiohttp.ClientError, httpx2.ReadError),
    (TimeoutError, httpx2.ReadTimeout),
    (ValueError, httpx2.LocalProtocolError),
    (OSError, httpx2.ReadError),
)
_MESSAGES: dict[type[httpx2.TransportError], str] = {
    httpx2.ReadTimeout: "the answer did not arrive within the read timeout",
    httpx2.ConnectTimeout: "connecting timed out",
}


_MAX_DETAIL = 300


def as_httpx2(exc: BaseException) -> BaseException:
    """The httpx2 exception for `exc`; `exc` itself when it is already httpx2's or unknown."""
    if isinstance(exc, httpx2.HTTPError):
        return exc
    for source, target in _MAP:
        if isinstance(exc, source):
            # aiohttp's parser messages span lines (the bad bytes, a caret): one line here
            detail = " ".join(_detail(exc, target).split())[:_MAX_DETAIL]
            return target(f"{detail} ({type(exc).__name__})")
    return exc


def _detail(exc: BaseException, target: type[httpx2.TransportError]) -> str:
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return f"the proxy answered {exc.status} {exc.message}"
    if isinstance(exc, aiohttp.ClientResponseError):
        # its status is aiohttp's own 400 for a bad message, not the server's
        return f"malformed response: {exc.message}"
    return str(exc) or _MESSAGES.get(target, type(exc).__name__)
