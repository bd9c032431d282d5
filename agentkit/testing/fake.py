"""`FakeXAI`: the offline xAI server's behaviour, shared by both byte transports.

`handle` turns one `HTTPRequest` into one `HTTPReply`; the in-process httpx2 transport
and the loopback HTTP server only move bytes. Everything here is safe to call from
several event loops and threads at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from agentkit.testing import replies
from agentkit.testing.behaviour import (
    Endpoint,
    capped_turn,
    count_chat_turns,
    count_model_turns,
    function_tools,
    input_items,
    offline_turn,
)
from agentkit.testing.chat import chat_message, chunk_events, completion
from agentkit.testing.exchange import HTTPReply, HTTPRequest, RecordedRequest
from agentkit.testing.fake_files import FakeFiles, FilesBehaviour
from agentkit.testing.fake_media import FakeMedia, MediaBehaviour
from agentkit.testing.fake_tokenizer import TOKENIZE_PATH, tokenize_reply
from agentkit.testing.fake_usage import Tokens
from agentkit.testing.faults import Fault, FaultQueue
from agentkit.testing.prompt_cache import PromptCache
from agentkit.testing.script import Script, Turn
from agentkit.testing.sse import frame, response_events
from agentkit.testing.store import ResponseStore
from agentkit.testing.transport import FakeTransport
from agentkit.testing.validation import check_request
from agentkit.testing.wire import (
    chat_stream_error,
    dumps,
    models_list,
    new_response_id,
    output_items,
    response_object,
    stream_error_event,
)

TurnSource = Script | Callable[[dict[str, Any]], Turn] | None
MODEL_PATHS: dict[str, Endpoint] = {"/v1/responses": "responses", "/v1/chat/completions": "chat"}
RESPONSES_PREFIX = "/v1/responses/"


class _Refusal(Exception):
    """Internal signal: answer this request with an xAI error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeXAI:
    """An offline xAI API: scripted, function-driven, or a small built-in test model.

    Example:
        >>> fake = FakeXAI(Script([Turn.call("lookup", {"id": 42}), Turn.text("done")]))
        >>> client = httpx2.AsyncClient(transport=fake.transport(), base_url="http://fake/v1")
    """

    def __init__(
        self,
        script: TurnSource = None,
        *,
        latency: float = 0.0,
        record: bool = True,
        ping_every: int = 0,
        report_cost: bool = True,
        media: MediaBehaviour | None = None,
        files: FilesBehaviour | None = None,
    ) -> None:
        self.script = script
        self.latency = latency
        """Seconds every request waits before it is answered (without blocking others)."""
        self.ping_every = ping_every
        """Streams send an ``event: ping`` keep-alive before every n-th event (0: none)."""
        self.report_cost = report_cost
        """Usage carries ``cost_in_usd_ticks``; without it the client prices answers itself."""
        self.record = record
        """Keep every request for `requests`; long benchmarks may turn it off (counts remain)."""
        self.media = FakeMedia(media)
        """The image and video endpoints; set ``media.behaviour`` to change how jobs go."""
        self.images_seen = self.media.images_seen
        """Every input image part the model requests carried (`SeenImage`), in order."""
        self.files = FakeFiles(files)
        """Files, collections (``/management/v1``), document search, embeddings, and the
        ``file_search`` tool of model turns; set ``files.clock`` to move expiry along."""
        self.prompt_cache = PromptCache()
        """The prompt cache requests naming one (``prompt_cache_key``, ``x-grok-conv-id``)
        are answered from; usage reports what it held as cached tokens."""
        self._counts: Counter[str] = Counter()
        self._faults = FaultQueue()
        self._store = ResponseStore()
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._turn_fault_attempts: dict[str, int] = {}

    # --- public surface -------------------------------------------------------------------

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Fail the next ``times`` matching requests with ``fault``."""
        self._faults.add(fault, times)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def count(self, path: str | None = "/v1/responses") -> int:
        """How many requests went to ``path`` (every path when None)."""
        with self._lock:
            return self._counts.total() if path is None else self._counts[path]

    def pending_faults(self) -> int:
        """Injected fault uses not consumed yet."""
        return self._faults.pending()

    def transport(self) -> FakeTransport:
        """An httpx2 async transport answering in-process."""
        return FakeTransport(self.handle)

    # --- one exchange ---------------------------------------------------------------------

    async def handle(self, request: HTTPRequest) -> HTTPReply:
        """Answer one request (both transports call this).

        Like xAI, the fake names every HTTP request it answers with its own ``x-request-id``
        (a retry gets a new one); the client's ``X-Request-Id`` is only recorded.
        """
        client_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        server_id = str(uuid.uuid4())
        self._record(request, client_id, server_id)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        try:
            reply = await self._route(request)
        except _Refusal as refusal:
            reply = replies.error_reply(refusal.status, refusal.message)
        reply.headers.append(("x-request-id", server_id))
        return reply

    def _record(self, request: HTTPRequest, client_id: str, server_id: str) -> None:
        recorded = RecordedRequest(
            request.method, request.path, dict(request.headers), request.body, client_id, server_id
        )
        with self._lock:
            self._counts[request.path] += 1
            if self.record:
                self._requests.append(recorded)

    async def _route(self, request: HTTPRequest) -> HTTPReply:
        path, method = request.path, request.method.upper()
        if path in MODEL_PATHS:
            _require(method, "POST")
            refused = self.media.observe(request, MODEL_PATHS[path])
            search = refused or self.files.plan_search(request, MODEL_PATHS[path])
            if isinstance(search, HTTPReply):
                return search
            reply = await self._answer(request, MODEL_PATHS[path])
            return search.apply(reply, self._store) if search else reply
        if self.media.serves(path):
            return await self.media.handle(request)
        if self.files.serves(path):
            return await self.files.handle(request)
        if path == TOKENIZE_PATH:
            return tokenize_reply(request)
        if path == "/v1/models":
            _require(method, "GET")
            return replies.json_reply(models_list())
        if path.startswith(RESPONSES_PREFIX) and "/" not in path[len(RESPONSES_PREFIX) :]:
            return self._stored(method, path[len(RESPONSES_PREFIX) :])
        raise _Refusal(404, f"No route for {method} {path}")

    def _stored(self, method: str, response_id: str) -> HTTPReply:
        if method == "DELETE":
            if not self._store.delete(response_id):
                raise _Refusal(404, f"Response with id '{response_id}' not found.")
            return replies.json_reply({"id": response_id, "object": "response", "deleted": True})
        _require(method, "GET")
        stored = self._store.get(response_id)
        if stored is None or not stored.retrievable:
            raise _Refusal(404, f"Response with id '{response_id}' not found.")
        return replies.json_reply(stored.body)

    # --- model endpoints ------------------------------------------------------------------

    async def _answer(self, request: HTTPRequest, endpoint: Endpoint) -> HTTPReply:
        body = _parse_body(request)
        problem = check_request(body, endpoint)
        if problem is not None:
            raise _Refusal(*problem)
        turn, index, prior = self._select(body, endpoint)
        stream = bool(body.get("stream"))
        fault = self._faults.take(request.path, stream=stream, has_calls=turn.has_calls)
        fault = fault or self._turn_fault(turn, request, stream)
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        early = replies.fault_reply(fault, stream=stream) if fault else None
        if early is not None:
            return early
        arguments = self._arguments(turn, body, endpoint, fault)
        cut = _StreamCut.of(fault, endpoint)
        turn = capped_turn(turn, body, endpoint)
        headers = {name.lower(): value for name, value in request.headers.items()}
        if endpoint == "chat":
            return self._chat(body, turn, arguments, cut, headers)
        return self._responses(body, turn, index, arguments, prior, cut, headers)

    def _select(self, body: dict[str, Any], endpoint: Endpoint) -> tuple[Turn, int, int]:
        """The answering turn, its index, and tokens carried over from a previous response."""
        index, prior = self._turn_index(body, endpoint)
        source = self.script
        if source is None:
            return offline_turn(body, endpoint), index, prior
        if isinstance(source, Script):
            if index >= len(source):
                raise _Refusal(
                    400,
                    f"fake xAI script exhausted: the conversation is at turn {index} "
                    f"but the script has {len(source)} turn(s)",
                )
            return source[index], index, prior
        try:
            turn = source(body)
        except Exception as exc:
            raise _Refusal(500, f"fake xAI turn function raised {exc!r}") from exc
        if not isinstance(turn, Turn):
            raise _Refusal(500, f"fake xAI turn function returned {turn!r}, not a Turn")
        return turn, index, prior

    def _turn_index(self, body: dict[str, Any], endpoint: Endpoint) -> tuple[int, int]:
        if endpoint == "chat":
            return count_chat_turns(body), 0
        index = count_model_turns(input_items(body), self._store.origin)
        previous = body.get("previous_response_id")
        if not previous:
            return index, 0
        stored = self._store.get(str(previous))
        if stored is None or not stored.retrievable:
            raise _Refusal(404, f"Response with id '{previous}' not found.")
        prior = int((stored.body.get("usage") or {}).get("total_tokens", 0))
        return stored.turn_index + 1 + index, prior

    def _turn_fault(self, turn: Turn, request: HTTPRequest, stream: bool) -> Fault | None:
        """The turn's own fault, for the first ``fault.times`` attempts of this exact request."""
        fault = turn.fault
        if fault is None or not fault.matches(
            request.path, stream=stream, has_calls=turn.has_calls
        ):
            return None
        key = hashlib.sha256(request.body).hexdigest()
        with self._lock:
            attempts = self._turn_fault_attempts.get(key, 0)
            if attempts >= fault.times:
                return None
            self._turn_fault_attempts[key] = attempts + 1
        return fault

    def _arguments(
        self, turn: Turn, body: dict[str, Any], endpoint: Endpoint, fault: Fault | None
    ) -> list[str]:
        arguments = [call.arguments_json() for call in turn.function_calls]
        if not turn.function_calls:
            return arguments
        schemas = {tool.name: tool.parameters for tool in function_tools(body, endpoint)}
        schema = schemas.get(turn.function_calls[0].name)
        return replies.faulty_arguments(arguments, schema, fault)

    def _responses(
        self,
        body: dict[str, Any],
        turn: Turn,
        index: int,
        arguments: list[str],
        prior: int,
        cut: _StreamCut,
        headers: dict[str, str],
    ) -> HTTPReply:
        response_id = new_response_id()
        output = output_items(response_id, turn, arguments)
        prompt = [body.get("instructions"), body.get("input"), body.get("tools")]
        tokens = replace(_tokens(body, turn, prompt, arguments), report_cost=self.report_cost)
        if prior:
            tokens = replace(tokens, input_tokens=tokens.input_tokens + prior, cached_tokens=prior)
        else:
            cached = self.prompt_cache.cached_tokens(
                body, headers, "responses", tokens.input_tokens
            )
            tokens = replace(tokens, cached_tokens=cached)
        usage = tokens.responses_usage()
        response = response_object(response_id, body, output, usage, incomplete=turn.incomplete)
        self._store.put(response, index, retrievable=body.get("store", True) is not False)
        if body.get("stream"):
            frames = [*map(frame, response_events(response)), replies.DONE_FRAME]
            return replies.stream_reply(
                frames, limit=cut.limit, ping_every=self.ping_every, tail=cut.tail
            )
        return replies.json_reply(response)

    def _chat(
        self,
        body: dict[str, Any],
        turn: Turn,
        arguments: list[str],
        cut: _StreamCut,
        headers: dict[str, str],
    ) -> HTTPReply:
        completion_id = new_response_id()
        model = str(body.get("model", ""))
        message = chat_message(turn, arguments)
        tokens = _tokens(body, turn, [body.get("messages"), body.get("tools")], arguments)
        cached = self.prompt_cache.cached_tokens(body, headers, "chat", tokens.input_tokens)
        tokens = replace(tokens, report_cost=self.report_cost, cached_tokens=cached)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            frames = chunk_events(
                completion_id,
                model,
                message,
                tokens,
                include_usage,
                incomplete=bool(turn.incomplete),
            )
            return replies.stream_reply(
                frames, limit=cut.limit, ping_every=self.ping_every, tail=cut.tail
            )
        return replies.json_reply(completion(completion_id, model, message, tokens, turn))


@dataclass(frozen=True, slots=True)
class _StreamCut:
    """Where a fault ends a stream early (``limit`` events) and what it sends then."""

    limit: int | None = None
    tail: bytes | None = None

    @classmethod
    def of(cls, fault: Fault | None, endpoint: Endpoint) -> _StreamCut:
        if fault is None or fault.kind not in ("truncate_stream", "stream_error"):
            return cls()
        if fault.kind == "truncate_stream":
            return cls(fault.after_events)
        if endpoint == "chat":
            error = chat_stream_error(fault.status, fault.message)
            return cls(fault.after_events, b"data: " + dumps(error) + b"\n\n")
        event = stream_error_event(fault.status, fault.message, fault.after_events)
        return cls(fault.after_events, frame(event))


def _require(method: str, expected: str) -> None:
    if method != expected:
        raise _Refusal(405, f"Method {method} not allowed here; use {expected}")


def _parse_body(request: HTTPRequest) -> Any:
    content_type = request.headers.get("content-type", "")
    if "json" not in content_type:
        raise _Refusal(415, "Expected request with `Content-Type: application/json`")
    try:
        return json.loads(request.body)
    except ValueError as exc:
        raise _Refusal(400, f"Failed to parse the request body as JSON: {exc}") from exc


def _tokens(body: dict[str, Any], turn: Turn, prompt: Any, arguments: list[str]) -> Tokens:
    search = turn.search_call
    output = (turn.answer or "") + "".join(arguments)
    kind = search.kind if search else None
    return Tokens.estimate(
        str(body.get("model", "")),
        prompt,
        output,
        web=1 if kind == "web" else 0,
        x=1 if kind == "x" else 0,
        sources=len(search.results) if search else 0,
        reasoning=turn.reasoning_tokens,
    )
