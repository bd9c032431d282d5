"""JSON and multipart calls to xAI's REST endpoints beside the model (images, videos,
files, collections, document search), with the retry rules of the official clients.

A request that creates something is retried only on 429 (the API did not start it),
honouring ``Retry-After`` up to a minute; a read (GET) is retried on 429, 5xx and
connection errors too. A connection error while creating is never retried: the request
may have taken effect. The key travels in a header and is never in an error's text.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2

from agentkit.errors import AgentkitError, ConfigError, MissingAPIKey

MAX_RETRY_AFTER = 60.0
Sleep = Callable[[float], Awaitable[None]]


def api_key_from(given: str | None, variables: Sequence[str] = ("XAI_API_KEY",)) -> str:
    """``given``, else the first of the environment ``variables`` set; `MissingAPIKey`
    naming the first when none is."""
    key = (
        given
        if given is not None
        else next((os.environ[v] for v in variables if os.environ.get(v)), "")
    )
    if not key:
        raise MissingAPIKey(variables[0])
    return key


@dataclass(frozen=True)
class RestAnswer:
    """A final answer: its status, its JSON object ({} when it has no body), its id."""

    status: int
    body: dict[str, Any]
    request_id: str
    content: bytes


class RestClient:
    """One host and one key; `error` is the exception type failures raise."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        error: type[AgentkitError],
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: float = 120.0,
        max_attempts: int = 4,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1")
        self.base = base_url.rstrip("/")
        self.http = httpx2.AsyncClient(transport=transport, timeout=timeout)
        self._auth = {"Authorization": f"Bearer {key}"}
        self._error = error
        self._attempts = max_attempts
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"RestClient(base_url={self.base!r})"

    async def aclose(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        create: bool,
        ok: tuple[int, ...] = (200, 202),
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> RestAnswer:
        """Send one logical request; the answer once its status is in `ok`.

        Raises:
            the client's `error`: a status outside `ok` that is not retried (or retried
                out), or a connection error.
        """
        last = ""
        for attempt in range(self._attempts):
            try:
                response = await self.http.request(
                    method, self.base + path, json=json, params=params, data=data,
                    files=files, headers=self._auth,
                )  # fmt: skip
            except httpx2.TransportError as exc:
                if create:  # it may have taken effect: never sent twice
                    raise self._error(f"{method} {path}: {type(exc).__name__}") from exc
                last = type(exc).__name__
                await self.sleep(min(8.0, 0.25 * 2**attempt))
                continue
            if response.status_code in ok:
                return _answer(response, self._error)
            retry = response.status_code == 429 or (not create and response.status_code >= 500)
            last = f"HTTP {response.status_code}: {error_message(response)}"
            if not retry or attempt == self._attempts - 1:
                raise self._error(f"{method} {path} failed: {last}")
            await self.sleep(retry_after(response, attempt))
        raise self._error(f"{method} {path} failed: {last}")


def _answer(response: httpx2.Response, error: type[AgentkitError]) -> RestAnswer:
    request_id = response.headers.get("x-request-id", "")
    kind = response.headers.get("content-type", "")
    body: dict[str, Any] = {}
    if response.content and "json" in kind:
        try:
            value = response.json()
        except ValueError as exc:
            raise error(f"the API answered with something that is not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise error("the API answered with JSON that is not an object")
        body = value
    return RestAnswer(response.status_code, body, request_id, response.content)


def error_message(response: httpx2.Response) -> str:
    """The API's own message for a failed request, short."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return response.text[:200]
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error or response.text[:200])


def retry_after(response: httpx2.Response, attempt: int) -> float:
    """Seconds to wait before the next attempt: ``Retry-After`` (seconds or an HTTP
    date), capped at a minute; else doubling from 1 s to 30 s."""
    header = response.headers.get("retry-after")
    if header:
        if header.strip().isdigit():
            return min(MAX_RETRY_AFTER, float(header))
        try:
            when = email.utils.parsedate_to_datetime(header).timestamp()
        except (TypeError, ValueError):
            pass
        else:
            return min(MAX_RETRY_AFTER, max(0.0, when - time.time()))
    return min(30.0, 2.0**attempt)
