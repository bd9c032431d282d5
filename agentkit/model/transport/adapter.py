"""`AiohttpTransport`: XAIClient's default transport, httpx2's API over an aiohttp session.

httpx2's own connection pool re-examines every connection on every request event, so a
burst of n concurrent requests costs O(n^2) CPU; aiohttp keeps one deque of idle
connections per host (llhttp parses, in C). The seam stays `httpx2.AsyncClient`:
timeouts, retries, streaming and error mapping are the client's, unchanged. On top of
aiohttp this adapter refuses what h11 refuses (`framing`), never answers a request with
bytes a server wrote on an idle connection and bounds a dripping answer (`strict`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import httpx2

from agentkit.model.transport.proxies import ProxyRoutes
from agentkit.model.transport.tls import Cert, TLSConfig, Verify

if TYPE_CHECKING:
    from agentkit.model.transport.request_mapping import Exchange

logger = logging.getLogger(__name__)


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """An httpx2 transport over aiohttp, with proxies and TLS configured like httpx2's.

    Example:
        >>> transport = AiohttpTransport(proxy="http://127.0.0.1:3128")  # doctest: +SKIP
        >>> client = XAIClient(transport=transport)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        proxy: str | None = None,
        trust_env: bool = True,
        verify: Verify = True,
        cert: Cert | None = None,
        max_connections: int | None = None,
        keepalive_expiry: float = 5.0,
    ) -> None:
        """Configure; connections open on the first request, in its event loop.

        Args:
            proxy: send every request through this http:// or https:// proxy (user and
                password may be in the URL); the environment's proxies are then not read.
            trust_env: read HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY (lower case
                too), SSL_CERT_FILE and SSL_CERT_DIR, once, here.
            verify: True (the default trust store), a CA bundle file or directory, an
                `ssl.SSLContext`, or False (no verification: tests only).
            cert: a client certificate: one PEM file, (cert, key) or (cert, key, password).
            max_connections: open connections at most; None for no limit.
            keepalive_expiry: seconds an idle connection is kept for reuse.

        Raises:
            ConfigError: an unsupported proxy scheme, or certificate files that cannot load.
        """
        if proxy is not None:
            self._routes = ProxyRoutes.explicit(proxy)
        elif trust_env:
            self._routes = ProxyRoutes.from_environment()
        else:
            self._routes = ProxyRoutes()
        self._tls = TLSConfig(verify, cert, trust_env=trust_env)
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._exchange: Exchange | None = None
        self._closed = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send `request`; raise httpx2's exceptions (ConnectError, ReadTimeout, ...)."""
        exchange = self._exchange
        if exchange is None or exchange.loop is not asyncio.get_running_loop():
            exchange = self._open()
        return await exchange.send(request)

    async def aclose(self) -> None:
        """Close every connection; the transport sends nothing after this."""
        self._closed = True
        exchange, self._exchange = self._exchange, None
        if exchange is not None and exchange.loop is asyncio.get_running_loop():
            await exchange.aclose()

    async def release(self) -> None:
        """Close the running event loop's connections; the next request opens new ones."""
        exchange = self._exchange
        if exchange is not None and exchange.loop is asyncio.get_running_loop():
            self._exchange = None
            await exchange.aclose()

    def _open(self) -> Exchange:
        if self._closed:
            raise httpx2.TransportError("the transport is closed")
        # imported here: aiohttp costs ~100 ms to import, paid only by code that sends
        from agentkit.model.transport.request_mapping import Exchange

        if self._exchange is not None:
            # its connections belong to an event loop that has ended
            logger.debug("a new event loop: opening a new aiohttp session")
        self._exchange = Exchange(
            self._tls,
            self._routes,
            max_connections=self._max_connections,
            keepalive_expiry=self._keepalive_expiry,
        )
        return self._exchange
