"""`XAIClient`: the real `ModelClient`, over httpx2, for `/v1/responses` and chat.

One `respond()` is one logical request: capability check, one body, one `X-Request-Id`,
retries with backoff, one `Usage` sent to the sink whatever the outcome.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx2
from opentelemetry import trace

from agentkit.errors import ConfigError, MissingAPIKey, ModelError, QuotaExhausted, RateLimited
from agentkit.model.attempt import Attempt, send_plain, send_streamed
from agentkit.model.capabilities import CapabilityTable
from agentkit.model.chat_wire import build_chat_body, parse_chat_body
from agentkit.model.limits import check_request_limits
from agentkit.model.pricing import PriceTable
from agentkit.model.request_queue import RateGate, estimate_request_tokens
from agentkit.model.responses_wire import build_responses_body, parse_responses_body
from agentkit.model.retry import RetryPolicy, Timeouts
from agentkit.model.sender import ClientSender, Sender, TransportSender
from agentkit.model.transport import AiohttpTransport
from agentkit.model.types import Endpoint, ModelRequest, ModelResponse, Usage, UsageSink
from agentkit.telemetry.logs import get_logger, log_context

if TYPE_CHECKING:
    from pydantic import BaseModel

OutputT = TypeVar("OutputT", bound="BaseModel")
Sleep = Callable[[float], Awaitable[object]]

logger = get_logger(__name__)

_PATHS: dict[str, str] = {"responses": "/responses", "chat": "/chat/completions"}


class XAIClient:
    """Async client of the xAI REST API.

    Example:
        >>> async with XAIClient() as client:  # doctest: +SKIP
        ...     answer = await client.respond(
        ...         ModelRequest(model="grok-4", input=[{"role": "user", "content": "Hi"}]))
        ...     print(answer.text)
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str = "https://api.x.ai/v1",
        endpoint: Endpoint = "responses",
        http: httpx2.AsyncClient | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        usage_sink: UsageSink | None = None,
        prices: PriceTable | None = None,
        capabilities: CapabilityTable | None = None,
        sleep: Sleep = asyncio.sleep,
        rate_gate: RateGate | None = None,
    ) -> None:
        """Configure the client; the key comes from `api_key` or XAI_API_KEY. With
        `rate_gate` (for example ``RateGate.for_process()`` with the account's limits),
        requests queue for the model's requests and tokens per minute instead of meeting
        429s, and a 429 slows every request of that model down."""
        key = api_key if api_key is not None else os.environ.get("XAI_API_KEY", "")
        if not key:
            raise MissingAPIKey()
        if endpoint not in _PATHS:
            raise ConfigError(f"unknown endpoint {endpoint!r}: use 'responses' or 'chat'")
        if http is not None and transport is not None:
            raise ConfigError("pass either http= or transport=, not both")
        self._secret = key
        self._endpoint: Endpoint = endpoint
        self._url = base_url.rstrip("/") + _PATHS[endpoint]
        self._retry = retry or RetryPolicy()
        self._timeouts = timeouts or Timeouts()
        self._sink = usage_sink
        self._prices = prices or PriceTable.default()
        self._caps = capabilities or CapabilityTable.default()
        self._sleep = sleep
        self._gate = rate_gate
        self._sender: Sender = (
            ClientSender(http, self._url)
            if http is not None
            else TransportSender(transport or AiohttpTransport(), self._url)
        )
        self._headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": "agentkit/0.1",
        }
        self._stream_headers = {**self._headers, "Accept": "text/event-stream"}
        self._timeout_cache: dict[float, httpx2.Timeout] = {}

    def __repr__(self) -> str:
        return f"XAIClient(url={self._url!r}, endpoint={self._endpoint!r})"

    @property
    def endpoint(self) -> Endpoint:
        """Which API this client speaks: "responses" or "chat"."""
        return self._endpoint

    async def __aenter__(self) -> XAIClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections this client opened (a client passed as `http=` stays open)."""
        await self._sender.aclose()

    async def release_connections(self) -> None:
        """Close the connections of the running event loop and stay usable in the next one
        (`Agent.run_sync` calls it as its loop ends, for a client it did not create)."""
        await self._sender.release()

    async def respond(self, request: ModelRequest) -> ModelResponse:
        """Send one logical request, retrying transient failures; parse the answer.

        An answer that stopped short comes back with `status == "incomplete"` and its
        `incomplete_reason`; check it before taking `text` as the whole answer.

        Raises:
            UnsupportedParameter: the model rejects a parameter (nothing was sent).
            ConfigError: the request passes an API limit, e.g. more than 350 tools
                (nothing was sent).
            ModelError: a subclass naming what failed, with `request_id` and `attempts`.
        """
        caps = self._caps.check(request)
        check_request_limits(request)
        if self._endpoint == "responses":
            body = build_responses_body(request, reasoning_model=caps.reasoning)
        else:
            body = build_chat_body(request)
        attempt = Attempt(
            sender=self._sender,
            url=self._url,
            content=json.dumps(body, separators=(",", ":")).encode(),
            headers={
                **(self._stream_headers if request.stream else self._headers),
                "X-Request-Id": str(uuid.uuid4()),
                **self._conversation_header(request),
            },
            timeout=self._timeout(request, caps.reasoning),
            secret=self._secret,
            parse=self._parser(request.model),
        )
        return await self._run(attempt, request)

    def _conversation_header(self, request: ModelRequest) -> dict[str, str]:
        """Chat Completions routes a conversation to its cache by ``x-grok-conv-id`` (the
        Responses API by the body's ``prompt_cache_key``)."""
        if self._endpoint == "chat" and request.prompt_cache_key:
            return {"x-grok-conv-id": request.prompt_cache_key}
        return {}

    async def structured(self, request: ModelRequest, output: type[OutputT]) -> OutputT:
        """Ask for JSON matching `output` (strict schema); validate it, correcting once.

        Raises:
            ModelBehaviorError: the answer still does not validate after one correction.
            ResponseIncomplete: an answer stopped short (a cut JSON text is not corrected).
        """
        from agentkit.model.json_answer import respond_structured

        return await respond_structured(self, request, output)

    def _timeout(self, request: ModelRequest, reasoning: bool | None) -> httpx2.Timeout:
        t = self._timeouts
        read = (
            request.timeout
            if request.timeout is not None
            else (t.reasoning_read if reasoning else t.read)
        )
        cached = self._timeout_cache.get(read)
        if cached is None:
            cached = httpx2.Timeout(connect=t.connect, read=read, write=t.write, pool=t.pool)
            self._timeout_cache[read] = cached
        return cached

    def _parser(self, model: str) -> Callable[[Any, str], ModelResponse]:
        parse = parse_responses_body if self._endpoint == "responses" else parse_chat_body
        prices = self._prices

        def _parse(body: Any, request_id: str) -> ModelResponse:
            return parse(body, request_id=request_id, prices=prices, fallback_model=model)

        return _parse

    async def _run(self, attempt: Attempt, request: ModelRequest) -> ModelResponse:
        send = send_streamed if request.stream else send_plain
        started = time.perf_counter()
        number = 0
        queued: list[float] = []
        while True:
            number += 1
            try:
                if self._gate is None:
                    attempt.started = time.perf_counter()
                    response = await send(attempt)
                else:
                    response = await self._gated(send, attempt, request, queued)
            except ModelError as exc:
                exc.attempts = number
                wait = self._retry.delay(exc, number, time.perf_counter() - started)
                if wait is None:
                    self._record_failure(attempt, request, exc, started, number)
                    raise
                if self._gate is not None and type(exc) is RateLimited:
                    wait = 0.0  # the gate holds the model back until its pause ends
                with log_context(request_id=attempt.request_id):
                    logger.info("retrying xAI request %s in %.2fs after %s (attempt %d)",
                                attempt.request_id, wait, type(exc).__name__, number)  # fmt: skip
                trace.get_current_span().add_event("agentkit.model.retry", {
                    "agentkit.attempt": number, "error.type": type(exc).__name__,
                    "agentkit.retry_in_s": wait})  # fmt: skip
                await self._sleep(wait)
                continue
            response.usage.queued_ms = sum(queued) * 1000.0
            return self._finish(response, attempt, started, number)

    async def _gated(
        self, send: Any, attempt: Attempt, request: ModelRequest, queued: list[float]
    ) -> ModelResponse:
        """One attempt through the rate gate: queued for the model's limits, charged its
        real tokens after, refunded when it failed; a 429 pauses the whole model."""
        assert self._gate is not None
        async with self._gate.slot(request.model, estimate_request_tokens(request)) as ticket:
            queued.append(ticket.queued_s)
            attempt.started = time.perf_counter()
            try:
                response: ModelResponse = await send(attempt)
            except RateLimited as exc:
                ticket.settle(0)
                if not isinstance(exc, QuotaExhausted):  # out of credit: no rate to learn
                    self._gate.throttled(request.model, exc.retry_after)
                raise
            except ModelError:
                ticket.settle(0)
                raise
            ticket.settle(response.usage.total_tokens)
            return response

    def _finish(
        self, response: ModelResponse, attempt: Attempt, started: float, number: int
    ) -> ModelResponse:
        usage = response.usage
        usage.latency_ms = (time.perf_counter() - started) * 1000.0
        if attempt.first_token_at is not None:
            usage.time_to_first_token_ms = (attempt.first_token_at - attempt.started) * 1000.0
        usage.attempts = number
        if self._sink is not None:
            self._sink(usage)
        return response

    def _record_failure(
        self, attempt: Attempt, request: ModelRequest, exc: ModelError, started: float, number: int
    ) -> None:
        if self._sink is None:
            return
        usage = Usage(
            request_id=attempt.request_id,
            model=request.model,
            endpoint=self._endpoint,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            status=f"error:{type(exc).__name__}",
            attempts=number,
            server_request_id=exc.server_request_id,
        )
        self._sink(usage)
