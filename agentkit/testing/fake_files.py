"""The fake xAI server's Files API, collections, document search and embeddings.

Main host, as xAI serves them (no key check, like the rest of the fake):

* ``POST /v1/files`` (multipart), ``GET /v1/files``, ``GET|DELETE /v1/files/{id}``,
  ``GET /v1/files/{id}/content[?format=text]``;
* ``POST /v1/documents/search`` over the processed documents of named collections;
* ``POST /v1/embeddings``: deterministic unit vectors (a signed, hashed bag of words).

The collections management API lives on a second host at xAI (``management-api.x.ai``);
this fake serves it on the same server under ``/management/v1/...`` (`management_base_url`
turns an API base URL into it), and only with ``Authorization: Bearer <management key>``.
Indexing goes one step per status read, never by the clock: a document answers
``DOCUMENT_STATUS_PROCESSING`` for `FilesBehaviour.index_polls` reads, then
``DOCUMENT_STATUS_PROCESSED`` (``DOCUMENT_STATUS_FAILED`` when its file name holds
``[fail]``). Only processed documents are searched.

Search is deterministic. Each document's text is cut into chunks, one per blank-line
paragraph (a paragraph longer than `CHUNK_CHARS` is cut at spaces), and only chunks sharing
a word with the query match. ``keyword`` scores them by BM25 over the searched chunks,
``semantic`` by the cosine of their `embedding` and the query's, and ``hybrid`` (the
default) by the mean of the two, BM25 divided by the best BM25 first. Ties go by
``(file_id, chunk index)``.

A Responses request carrying a ``file_search`` tool, whose last input item is a user
message, gets a ``file_search_call`` item per such tool put before its scripted turn's
output: the same search over that tool's ``vector_store_ids``, for the user's text.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib
import io
import json
import math
import mimetypes
import re
import struct
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import Any, Literal, cast
from urllib.parse import parse_qs

from agentkit.errors import ConfigError
from agentkit.testing import replies
from agentkit.testing.behaviour import Endpoint, input_items
from agentkit.testing.exchange import HTTPReply, HTTPRequest
from agentkit.testing.fake_usage import Tokens, count_tokens
from agentkit.testing.side_endpoints import Refused, SideFaults, json_object, require
from agentkit.testing.sse import frame
from agentkit.testing.store import ResponseStore
from agentkit.testing.wire import dumps

RetrievalMode = Literal["hybrid", "semantic", "keyword"]

FILES_PATH = "/v1/files"
SEARCH_PATH = "/v1/documents/search"
EMBEDDINGS_PATH = "/v1/embeddings"
MANAGEMENT_PREFIX = "/management"
COLLECTIONS_PATH = MANAGEMENT_PREFIX + "/v1/collections"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
EXPIRES_AFTER_RANGE = (3600, 2_592_000)
"""Seconds ``expires_after`` may be: one hour to thirty days."""
CHUNK_CHARS = 1200
EMBEDDING_DIMENSION = 64
FAIL_MARKER = "[fail]"
"""A file whose name contains this ends its indexing ``DOCUMENT_STATUS_FAILED``."""
PROCESSING = "DOCUMENT_STATUS_PROCESSING"
PROCESSED = "DOCUMENT_STATUS_PROCESSED"
FAILED = "DOCUMENT_STATUS_FAILED"
RETRIEVAL_MODES = ("hybrid", "semantic", "keyword")
FILE_SEARCH_TICKS = 25_000_000  # $2.50 per 1000 calls; 1e10 ticks are one dollar
MAX_VECTOR_STORES = 10
_MULTIPART_SLACK = 64 * 1024  # room for the form's other fields and part headers
_BM25_K1, _BM25_B = 1.2, 0.75
_WORD = re.compile(r"\w+")
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"}
)
_CHUNK_IDS = uuid.UUID("5b0e6f52-6c1f-4d0a-9a57-2f4b8f6f0c11")


def management_base_url(base_url: str) -> str:
    """The collections management API's base URL on the server whose API base is
    ``base_url`` (``http://127.0.0.1:8000/v1`` → ``http://127.0.0.1:8000/management/v1``)."""
    root = base_url.rstrip("/").removesuffix("/v1")
    return f"{root}{MANAGEMENT_PREFIX}/v1"


@dataclass(frozen=True, slots=True)
class FilesBehaviour:
    """How the fake's files, collections and embeddings behave (set per `FakeXAI` or
    swapped later as ``fake.files.behaviour``).

    Example:
        >>> fake = FakeXAI(files=FilesBehaviour(index_polls=0, max_upload_bytes=1024))
    """

    max_upload_bytes: int = MAX_UPLOAD_BYTES
    """An uploaded file larger than this is refused with 413."""
    index_polls: int = 2
    """Status reads a document answers ``DOCUMENT_STATUS_PROCESSING`` before it is done."""
    management_key: str = "test-management-key"
    """The key the ``/management/v1`` routes want as ``Authorization: Bearer <key>``."""
    embedding_dimension: int = EMBEDDING_DIMENSION
    """Length of every ``/v1/embeddings`` vector."""
    file_search: bool = True
    """Answer a model request's ``file_search`` tools with ``file_search_call`` items."""

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1:
            raise ConfigError(f"max_upload_bytes must be positive, got {self.max_upload_bytes}")
        if self.index_polls < 0:
            raise ConfigError(f"index_polls must not be negative, got {self.index_polls}")
        if self.embedding_dimension < 1:
            raise ConfigError(
                f"embedding_dimension must be positive, got {self.embedding_dimension}"
            )


@dataclass(frozen=True, slots=True)
class Chunk:
    """One searchable piece of a document: its page (from 1) and its place in the file."""

    page: int
    index: int
    text: str


@dataclass(slots=True)
class _File:
    """An uploaded file; its text and chunks are extracted once, when first needed."""

    file_id: str
    filename: str
    data: bytes
    content_type: str
    purpose: str
    created_at: int
    sequence: int
    """Upload order: breaks ties of equal sort keys so listing is deterministic."""
    expires_at: int | None
    pages: list[str] | None = None
    chunks: list[Chunk] | None = None

    def body(self) -> dict[str, Any]:
        """The File object the API answers with."""
        return {
            "id": self.file_id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
        }


@dataclass(slots=True)
class _Document:
    """A file in a collection, and how many times its indexing status was read."""

    file_id: str
    reads: int = 0


@dataclass(slots=True)
class _Collection:
    """A named set of documents; ``documents`` keeps the order they were added in."""

    collection_id: str
    name: str
    created_at: int
    documents: dict[str, _Document] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _FormPart:
    """One part of a multipart/form-data body."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


class FakeFiles(SideFaults):
    """The files half of `FakeXAI`: uploads, collections, search, embeddings, and the
    ``file_search`` tool of model turns. Its `inject` faults and `rate_limit_next` 429s
    apply to these endpoints only (the management ones included).

    Example:
        >>> fake = FakeXAI(files=FilesBehaviour(index_polls=0))
        >>> fake.files.clock = FakeClock()  # expiry follows this clock
        >>> fake.files.rate_limit_next = 1  # the next files request answers 429
    """

    def __init__(
        self, behaviour: FilesBehaviour | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__()
        self.behaviour = behaviour or FilesBehaviour()
        self.clock = clock
        """Unix time, for ``created_at`` and expiry."""
        self.file_search_requests: list[dict[str, Any]] = []
        """Every ``file_search`` tool entry the model requests carried, in arrival order."""
        self._lock = threading.Lock()
        self._files: dict[str, _File] = {}
        self._collections: dict[str, _Collection] = {}
        self._sequence = 0

    # --- public surface -------------------------------------------------------------------

    @staticmethod
    def serves(path: str) -> bool:
        """Whether ``path`` is one of the files, search, embeddings or management routes."""
        route = path.partition("?")[0]
        if route in (FILES_PATH, SEARCH_PATH, EMBEDDINGS_PATH):
            return True
        return route.startswith((FILES_PATH + "/", MANAGEMENT_PREFIX + "/"))

    async def handle(self, request: HTTPRequest) -> HTTPReply:
        """Answer one request to a path `serves` accepts, with its query string."""
        path, _, inline = request.path.partition("?")
        query = request.query or inline
        try:
            if path.startswith(MANAGEMENT_PREFIX + "/"):
                self._authorize(request)
            limited = await self._limited(path)
            if limited is not None:
                return limited
            with self._lock:
                self._purge()
                return self._dispatch(request, path, parse_qs(query, keep_blank_values=True))
        except Refused as refusal:
            return refusal.reply()

    def finish_indexing(self) -> None:
        """Let every document in every collection end its indexing now, as if polled."""
        with self._lock:
            for collection in self._collections.values():
                for document in collection.documents.values():
                    document.reads = max(document.reads, self.behaviour.index_polls)

    def plan_search(
        self, request: HTTPRequest, endpoint: Endpoint
    ) -> HTTPReply | FileSearch | None:
        """Record a model request's ``file_search`` tools and run their searches: the
        `FileSearch` to put before its answer, an error reply when a tool entry is refused
        (a 404 for an unknown collection), or None when there is nothing to search."""
        body = _file_search_body(request, endpoint)
        tools = _file_search_tools(body)
        if not tools:
            return None
        with self._lock:
            self.file_search_requests.extend(copy.deepcopy(tools))
        try:
            specs = [_file_search_spec(tool) for tool in tools]
            query = _user_text(body)
            if not query or not self.behaviour.file_search:
                return None
            with self._lock:
                self._purge()
                found = [self._matches(query, ids, limit, "hybrid") for ids, limit in specs]
        except Refused as refusal:
            return refusal.reply()
        results = tuple(tuple(map(self._result, matches)) for matches in found)
        return FileSearch(query, results)

    # --- routing --------------------------------------------------------------------------

    def _authorize(self, request: HTTPRequest) -> None:
        sent = request.headers.get("authorization")
        if not sent:
            raise Refused(401, "Missing management API key: send Authorization: Bearer <key>")
        if sent != f"Bearer {self.behaviour.management_key}":
            raise Refused(401, "Invalid management API key")

    def _dispatch(self, request: HTTPRequest, path: str, query: dict[str, list[str]]) -> HTTPReply:
        method = request.method.upper()
        if path == SEARCH_PATH:
            require(method, "POST")
            return self._search(json_object(request))
        if path == EMBEDDINGS_PATH:
            require(method, "POST")
            return self._embeddings(json_object(request))
        if path == FILES_PATH or path.startswith(FILES_PATH + "/"):
            return self._files_api(request, path[len(FILES_PATH) :].strip("/"), query)
        if path == COLLECTIONS_PATH or path.startswith(COLLECTIONS_PATH + "/"):
            rest = path[len(COLLECTIONS_PATH) :].strip("/")
            return self._collections_api(request, rest.split("/") if rest else [])
        raise Refused(404, f"No route for {method} {path}")

    def _files_api(self, request: HTTPRequest, rest: str, query: dict[str, list[str]]) -> HTTPReply:
        method = request.method.upper()
        file_id, _, tail = rest.partition("/")
        if not file_id:
            if method == "POST":
                return self._upload(request)
            require(method, "GET")
            return self._list_files(query)
        if tail == "content":
            require(method, "GET")
            return self._content(self._live(file_id), query)
        if tail:
            raise Refused(404, f"No route for {method} {request.path}")
        if method == "DELETE":
            self._forget(self._live(file_id).file_id)
            return replies.json_reply({"id": file_id, "deleted": True, "object": "file"})
        require(method, "GET")
        return replies.json_reply(self._live(file_id).body())

    def _collections_api(self, request: HTTPRequest, parts: list[str]) -> HTTPReply:
        method = request.method.upper()
        if not parts:
            if method == "POST":
                return self._create_collection(json_object(request))
            require(method, "GET")
            listed = [self._collection_body(c) for c in self._collections.values()]
            return replies.json_reply({"collections": listed})
        collection = self._collection(parts[0])
        if len(parts) == 1:
            return self._one_collection(request, method, collection)
        if parts[1] != "documents" or len(parts) > 3:
            raise Refused(404, f"No route for {method} {request.path}")
        if len(parts) == 2:
            require(method, "GET")
            documents = [self._read_document(d) for d in self._documents(collection)]
            return replies.json_reply({"documents": documents})
        return self._one_document(method, collection, parts[2])

    # --- files ----------------------------------------------------------------------------

    def _upload(self, request: HTTPRequest) -> HTTPReply:
        limit = self.behaviour.max_upload_bytes
        if len(request.body) > limit + _MULTIPART_SLACK:
            raise _too_large(len(request.body), limit)
        expires_after, upload, purpose = _upload_fields(_form_parts(request))
        if len(upload.data) > limit:
            raise _too_large(len(upload.data), limit)
        now = int(self.clock())
        self._sequence += 1
        stored = _File(
            file_id=f"file_{uuid.uuid4()}",
            filename=upload.filename or "",
            data=upload.data,
            content_type=_content_type(upload),
            purpose=purpose,
            created_at=now,
            sequence=self._sequence,
            expires_at=None if expires_after is None else now + expires_after,
        )
        self._files[stored.file_id] = stored
        return replies.json_reply(stored.body())

    def _list_files(self, query: dict[str, list[str]]) -> HTTPReply:
        limit = _query_int(query, "limit", 100, 1, 100)
        order = _query_choice(query, "order", ("asc", "desc"), "desc")
        sort_by = _query_choice(query, "sort_by", ("created_at", "filename", "size"), "created_at")
        if _query_value(query, "filter"):
            raise Refused(400, "The fake does not evaluate `filter` expressions")
        token = _query_value(query, "pagination_token")
        keyed = sorted(
            ((_sort_key(f, sort_by), f) for f in self._files.values()),
            key=lambda pair: pair[0],
            reverse=order == "desc",
        )
        if token:
            after = _decode_token(token, sort_by, order)
            keyed = [pair for pair in keyed if _beyond(pair[0], after, order)]
        page = keyed[:limit]
        next_token = _encode_token(sort_by, order, page[-1][0]) if page else token
        return replies.json_reply(
            {
                "data": [f.body() for _, f in page],
                "pagination_token": next_token or _encode_token(sort_by, order, None),
            }
        )

    def _content(self, stored: _File, query: dict[str, list[str]]) -> HTTPReply:
        fmt = _query_choice(query, "format", ("original", "text"), "original")
        if fmt == "original":
            return HTTPReply(200, [("content-type", "application/octet-stream")], stored.data)
        text = "\n\n".join(self._pages(stored))
        return HTTPReply(200, [("content-type", "text/plain; charset=utf-8")], text.encode())

    def _live(self, file_id: str) -> _File:
        found = self._files.get(file_id)
        if found is None:
            raise Refused(404, f"File with id '{file_id}' not found.")
        return found

    def _purge(self) -> None:
        """Forget every file whose ``expires_at`` has come."""
        now = self.clock()
        for stored in list(self._files.values()):
            if stored.expires_at is not None and now >= stored.expires_at:
                self._forget(stored.file_id)

    def _forget(self, file_id: str) -> None:
        """Remove a file, and with it its documents in every collection."""
        self._files.pop(file_id, None)
        for collection in self._collections.values():
            collection.documents.pop(file_id, None)

    def _pages(self, stored: _File) -> list[str]:
        if stored.pages is None:
            stored.pages = extract_pages(stored.data, stored.content_type, stored.filename)
        return stored.pages

    def _chunks(self, stored: _File) -> list[Chunk]:
        if stored.chunks is None:
            stored.chunks = chunk_pages(self._pages(stored))
        return stored.chunks

    # --- collections ----------------------------------------------------------------------

    def _create_collection(self, body: dict[str, Any]) -> HTTPReply:
        name = _text_field(body, "collection_name")
        collection = _Collection(f"collection_{uuid.uuid4()}", name, int(self.clock()))
        self._collections[collection.collection_id] = collection
        return replies.json_reply(self._collection_body(collection))

    def _one_collection(
        self, request: HTTPRequest, method: str, collection: _Collection
    ) -> HTTPReply:
        if method == "DELETE":
            del self._collections[collection.collection_id]
            return replies.json_reply({})
        if method == "PUT":
            collection.name = _text_field(json_object(request), "collection_name")
        else:
            require(method, "GET")
        return replies.json_reply(self._collection_body(collection))

    def _one_document(self, method: str, collection: _Collection, file_id: str) -> HTTPReply:
        if method == "POST":
            self._live(file_id)
            collection.documents.setdefault(file_id, _Document(file_id))
            return replies.json_reply({})
        document = collection.documents.get(file_id)
        if document is None or file_id not in self._files:
            raise Refused(
                404, f"Document '{file_id}' not found in collection {collection.collection_id}."
            )
        if method == "DELETE":
            del collection.documents[file_id]
            return replies.json_reply({})
        require(method, "GET")
        return replies.json_reply(self._read_document(document))

    def _collection(self, collection_id: str) -> _Collection:
        found = self._collections.get(collection_id)
        if found is None:
            raise Refused(404, f"Collection with id '{collection_id}' not found.")
        return found

    def _collection_body(self, collection: _Collection) -> dict[str, Any]:
        return {
            "collection_id": collection.collection_id,
            "collection_name": collection.name,
            "created_at": _timestamp(collection.created_at),
            "documents_count": len(self._documents(collection)),
        }

    def _documents(self, collection: _Collection) -> list[_Document]:
        return [d for d in collection.documents.values() if d.file_id in self._files]

    def _status(self, document: _Document) -> str:
        if document.reads < self.behaviour.index_polls:
            return PROCESSING
        return FAILED if FAIL_MARKER in self._files[document.file_id].filename else PROCESSED

    def _read_document(self, document: _Document) -> dict[str, Any]:
        """A document's metadata and status; reading it is one poll of its indexing."""
        status = self._status(document)
        document.reads += 1
        stored = self._files[document.file_id]
        body: dict[str, Any] = {
            "file_metadata": {
                "file_id": stored.file_id,
                "name": stored.filename,
                "size_bytes": len(stored.data),
                "content_type": stored.content_type,
                "created_at": _timestamp(stored.created_at),
            },
            "fields": {},
            "status": status,
        }
        if status == FAILED:
            body["error_message"] = f"Indexing {stored.filename!r} failed"
        return body

    # --- search ---------------------------------------------------------------------------

    def _search(self, body: dict[str, Any]) -> HTTPReply:
        query = _text_field(body, "query")
        source = body.get("source")
        ids = source.get("collection_ids") if isinstance(source, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise Refused(422, "`source.collection_ids` must be a non-empty list of strings")
        limit = _body_int(body, "limit", 10)
        mode = body.get("retrieval_mode") or {}
        kind = mode.get("type", "hybrid") if isinstance(mode, dict) else mode
        if kind not in RETRIEVAL_MODES:
            modes = ", ".join(RETRIEVAL_MODES)
            raise Refused(400, f"Invalid retrieval_mode {kind!r}; expected one of {modes}")
        matches = self._matches(query, ids, limit, cast(RetrievalMode, kind))
        return replies.json_reply({"matches": matches})

    def _matches(
        self, query: str, collection_ids: list[str], limit: int, mode: RetrievalMode
    ) -> list[dict[str, Any]]:
        """The best ``limit`` chunks of the processed documents in these collections."""
        homes: dict[str, list[str]] = {}
        for collection_id in collection_ids:
            collection = self._collection(collection_id)
            for document in self._documents(collection):
                if self._status(document) == PROCESSED:
                    homes.setdefault(document.file_id, []).append(collection_id)
        candidates = [
            (file_id, chunk)
            for file_id in sorted(homes)
            for chunk in self._chunks(self._files[file_id])
        ]
        texts = [chunk.text for _, chunk in candidates]
        scores = rank(query, texts, mode, self.behaviour.embedding_dimension)
        ranked = sorted(
            (-score, file_id, chunk.index, chunk)
            for score, (file_id, chunk) in zip(scores, candidates, strict=True)
            if score is not None
        )
        return [
            _match(file_id, chunk, -negative, homes[file_id])
            for negative, file_id, _, chunk in ranked[:limit]
        ]

    def _result(self, match: dict[str, Any]) -> dict[str, Any]:
        """A search match as a ``file_search_call`` result."""
        stored = self._files[match["file_id"]]
        return {
            "file_id": stored.file_id,
            "filename": stored.filename,
            "score": match["score"],
            "text": match["chunk_content"],
        }

    # --- embeddings -----------------------------------------------------------------------

    def _embeddings(self, body: dict[str, Any]) -> HTTPReply:
        model = _text_field(body, "model")
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise Refused(422, "`input` must be a string or a non-empty list of strings")
        if not all(texts):
            raise Refused(400, "`input` must not contain empty strings")
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            raise Refused(400, f"Invalid encoding_format {encoding!r}; expected float or base64")
        dimension = self.behaviour.embedding_dimension
        data = [
            {"object": "embedding", "index": index, "embedding": _encoded(vector, encoding)}
            for index, vector in enumerate(embedding(t, dimension) for t in texts)
        ]
        tokens = sum(count_tokens(t) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return replies.json_reply({"object": "list", "data": data, "model": model, "usage": usage})


# --- file_search in model turns ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileSearch:
    """What a model request's ``file_search`` tools found: one result list per tool entry,
    each to go out as a ``file_search_call`` item before the turn's own output."""

    query: str
    results: tuple[tuple[dict[str, Any], ...], ...]

    def items(self, response_id: str) -> list[dict[str, Any]]:
        """The ``file_search_call`` output items of the response ``response_id``."""
        return [
            {
                "type": "file_search_call",
                "id": f"fs_{response_id}_{number}",
                "queries": [self.query],
                "results": [dict(result) for result in results],
                "status": "completed",
            }
            for number, results in enumerate(self.results)
        ]

    def apply(self, reply: HTTPReply, store: ResponseStore) -> HTTPReply:
        """``reply`` (a Responses answer, JSON or streamed) with the items put first in its
        output and usage, and its stored copy updated so the items count as its own."""
        if reply.status != 200 or reply.drop:
            return reply
        if reply.stream is not None:
            stream = self._streamed(reply.stream, store)
            return HTTPReply(reply.status, list(reply.headers), stream=stream)
        try:
            body = json.loads(reply.body)
        except ValueError:
            return reply  # a malformed_body fault: nothing to add to
        if not isinstance(body, dict) or "output" not in body:
            return reply
        self._restore(store, str(body["id"]))
        body = _with_items(body, self.items(str(body["id"])))
        return HTTPReply(reply.status, list(reply.headers), dumps(body))

    def _restore(self, store: ResponseStore, response_id: str) -> None:
        stored = store.get(response_id)
        if stored is not None:
            body = _with_items(stored.body, self.items(response_id))
            store.put(body, stored.turn_index, retrievable=stored.retrievable)

    async def _streamed(
        self, frames: AsyncIterator[bytes], store: ResponseStore
    ) -> AsyncIterator[bytes]:
        """The stream with each item's added/done events after ``response.in_progress``,
        later events renumbered, and the items in the terminal event's response."""
        items: list[dict[str, Any]] = []
        shift = 0
        async for chunk in frames:
            event = _event_of(chunk)
            kind = event.get("type") if event else None
            if event is None:
                yield chunk
            elif kind == "response.created":
                response_id = str(event["response"]["id"])
                items = self.items(response_id)
                self._restore(store, response_id)
                yield chunk
            elif kind == "response.in_progress":
                yield chunk
                for added in _item_events(items, int(event["sequence_number"]) + 1):
                    yield frame(added)
                shift = 2 * len(items)
            else:
                yield frame(_shifted(event, items, shift))


def _file_search_body(request: HTTPRequest, endpoint: Endpoint) -> dict[str, Any]:
    """A Responses request's body when it may carry a ``file_search`` tool, else {} (most
    requests are told apart without parsing them)."""
    if endpoint != "responses" or b"file_search" not in request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        return {}  # the model route refuses it with its own error
    return body if isinstance(body, dict) else {}


def _file_search_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``file_search`` entries of a request's tools."""
    tools = body.get("tools")
    entries = tools if isinstance(tools, list) else []
    return [t for t in entries if isinstance(t, dict) and t.get("type") == "file_search"]


def _file_search_spec(tool: dict[str, Any]) -> tuple[list[str], int]:
    """A ``file_search`` tool's collection ids and result limit, checked as the API does."""
    ids = tool.get("vector_store_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise Refused(422, "file_search: `vector_store_ids` must be a non-empty list of strings")
    if len(ids) > MAX_VECTOR_STORES:
        raise Refused(400, f"file_search accepts at most {MAX_VECTOR_STORES} vector_store_ids")
    for rejected in ("filters", "ranking_options"):
        if tool.get(rejected) is not None:
            raise Refused(400, f"file_search: `{rejected}` is not supported")
    return ids, _body_int(tool, "max_num_results", 10)


def _user_text(body: dict[str, Any]) -> str:
    """The text of the request's last input item when it is a user message, else ""."""
    items = input_items(body)
    last = items[-1] if items else {}
    if last.get("role") != "user":
        return ""
    content = last.get("content")
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    texts = [p.get("text") for p in parts if isinstance(p, dict) and p.get("type") == "input_text"]
    return "\n".join(t for t in texts if isinstance(t, str))


def _with_items(response: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of ``response`` with ``items`` first in its output and counted in its usage."""
    output = [
        item for item in response.get("output") or [] if item.get("type") != "file_search_call"
    ]
    usage = response.get("usage")
    if isinstance(usage, dict):
        usage = _usage_with_searches(usage, len(items))
    return dict(response, output=[*items, *output], usage=usage)


def _usage_with_searches(usage: dict[str, Any], calls: int) -> dict[str, Any]:
    usage = copy.deepcopy(usage)
    usage["num_server_side_tools_used"] = usage.get("num_server_side_tools_used", 0) + calls
    details = usage.get("server_side_tool_usage_details")
    if not isinstance(details, dict):
        # every key the schema requires, at zero: the usage of one web search, less it
        one_search = Tokens("", 0, 0, web_searches=1).responses_usage()
        details = dict(one_search["server_side_tool_usage_details"], web_search_calls=0)
    details["file_search_calls"] = details.get("file_search_calls", 0) + calls
    usage["server_side_tool_usage_details"] = details
    if isinstance(usage.get("cost_in_usd_ticks"), int):
        usage["cost_in_usd_ticks"] += FILE_SEARCH_TICKS * calls
    return usage


def _event_of(chunk: bytes) -> dict[str, Any] | None:
    """The JSON event a stream frame carries; None for a ping, ``[DONE]`` or junk."""
    for line in chunk.split(b"\n"):
        if line.startswith(b"data: "):
            try:
                event = json.loads(line[6:])
            except ValueError:
                return None
            return event if isinstance(event, dict) and "type" in event else None
    return None


def _item_events(items: list[dict[str, Any]], number: int) -> Iterator[dict[str, Any]]:
    for index, item in enumerate(items):
        opened = dict(item, status="in_progress", results=[])
        for offset, (kind, shown) in enumerate((("added", opened), ("done", item))):
            yield {
                "type": f"response.output_item.{kind}",
                "sequence_number": number + offset,
                "output_index": index,
                "item": shown,
            }
        number += 2


def _shifted(event: dict[str, Any], items: list[dict[str, Any]], shift: int) -> dict[str, Any]:
    """An event after the added items: renumbered, its output index moved past them."""
    event = dict(event)
    if isinstance(event.get("sequence_number"), int):
        event["sequence_number"] += shift
    if isinstance(event.get("output_index"), int):
        event["output_index"] += len(items)
    if event["type"] in ("response.completed", "response.incomplete") and items:
        event["response"] = _with_items(event["response"], items)
    return event


# --- text, chunks, ranking, vectors -----------------------------------------------------------


def extract_pages(data: bytes, content_type: str, filename: str) -> list[str]:
    """A file's text, page by page: a PDF's pages through ``pypdf`` when it is installed
    (else its bytes as latin-1), an HTML file's text without its tags, any other file
    decoded as UTF-8 (latin-1 when it is not)."""
    lower = filename.lower()
    if content_type == "application/pdf" or lower.endswith(".pdf"):
        return _pdf_pages(data)
    text = _decoded(data)
    if "html" in content_type or lower.endswith((".html", ".htm")):
        return [_html_text(text)]
    return [text]


def chunk_pages(pages: list[str], size: int = CHUNK_CHARS) -> list[Chunk]:
    """Every page cut into chunks: one per blank-line paragraph, a paragraph longer than
    ``size`` cut at spaces into pieces of at most ``size`` characters."""
    chunks: list[Chunk] = []
    for page, text in enumerate(pages, start=1):
        for paragraph in re.split(r"\n\s*\n", text):
            for piece in _pieces(" ".join(paragraph.split()), size):
                chunks.append(Chunk(page, len(chunks), piece))
    return chunks


def rank(
    query: str, texts: list[str], mode: RetrievalMode, dimension: int = EMBEDDING_DIMENSION
) -> list[float | None]:
    """Each text's score for ``query`` under ``mode`` (see the module docstring); None for
    a text sharing no word with the query."""
    terms = set(words(query))
    documents = [words(text) for text in texts]
    keyword = _bm25(terms, documents)
    best = max(keyword, default=0.0) or 1.0
    target = embedding(query, dimension)
    scores: list[float | None] = []
    for text, document, bm25 in zip(texts, documents, keyword, strict=True):
        if not terms.intersection(document):
            scores.append(None)
            continue
        cosine = sum(a * b for a, b in zip(target, embedding(text, dimension), strict=True))
        score = {"keyword": bm25, "semantic": cosine, "hybrid": (bm25 / best + cosine) / 2}[mode]
        scores.append(round(score, 6))
    return scores


def embedding(text: str, dimension: int = EMBEDDING_DIMENSION) -> list[float]:
    """A deterministic unit vector for ``text``: each word adds ±1 at a place its hash
    picks, so texts sharing words point alike and unrelated ones are nearly orthogonal."""
    vector = [0.0] * dimension
    for word in words(text) or [text]:
        digest = hashlib.sha256(word.encode()).digest()
        place = int.from_bytes(digest[:4], "big") % dimension
        vector[place] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:  # every word cancelled out: fall back on the whole text's hash
        digest = hashlib.sha256(text.encode()).digest()
        vector[int.from_bytes(digest[:4], "big") % dimension] = 1.0
        return vector
    return [v / norm for v in vector]


def words(text: str) -> list[str]:
    """The lower-cased words of ``text``, as search and embeddings see them."""
    return _WORD.findall(text.lower())


def _bm25(terms: set[str], documents: list[list[str]]) -> list[float]:
    count = len(documents)
    average = sum(map(len, documents)) / count if count else 1.0
    frequency = Counter(term for document in documents for term in set(document))
    scores = []
    for document in documents:
        counts = Counter(document)
        norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * len(document) / (average or 1.0))
        score = 0.0
        for term in terms:
            tf = counts[term]
            if tf:
                idf = math.log(1 + (count - frequency[term] + 0.5) / (frequency[term] + 0.5))
                score += idf * tf * (_BM25_K1 + 1) / (tf + norm)
        scores.append(score)
    return scores


def _pieces(paragraph: str, size: int) -> Iterator[str]:
    while len(paragraph) > size:
        cut = paragraph.rfind(" ", 0, size + 1)
        cut = cut if cut > 0 else size
        yield paragraph[:cut]
        paragraph = paragraph[cut:].lstrip()
    if paragraph:
        yield paragraph


def _match(file_id: str, chunk: Chunk, score: float, homes: list[str]) -> dict[str, Any]:
    return {
        "file_id": file_id,
        "chunk_id": str(uuid.uuid5(_CHUNK_IDS, f"{file_id}/{chunk.index}")),
        "chunk_content": chunk.text,
        "score": score,
        "collection_ids": list(homes),
        "fields": {},
        "page_number": chunk.page,
    }


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _pdf_pages(data: bytes) -> list[str]:
    try:
        pypdf = importlib.import_module("pypdf")
    except ImportError:
        return [data.decode("latin-1")]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = pypdf.PdfReader(io.BytesIO(data))
            return [str(page.extract_text() or "") for page in reader.pages]
    except Exception:  # pypdf cannot read it: its bytes are the text then
        return [data.decode("latin-1")]


class _HTMLText(HTMLParser):
    """The text of an HTML page: block elements end paragraphs; scripts and styles go."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, 1)

    def handle_endtag(self, tag: str) -> None:
        self._tag(tag, -1)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)

    def _tag(self, tag: str, step: int) -> None:
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden + step)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")


def _html_text(markup: str) -> str:
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    paragraphs = re.split(r"\n\s*\n", "".join(parser.parts))
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


# --- request fields -------------------------------------------------------------------------


def _form_parts(request: HTTPRequest) -> list[_FormPart]:
    """The parts of a multipart/form-data body, in order, read by the standard library's
    MIME parser."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise Refused(415, "Expected request with `Content-Type: multipart/form-data`")
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + request.body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise Refused(400, "The multipart body could not be parsed (is the boundary right?)")
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            raise Refused(400, "Every multipart part needs Content-Disposition: form-data; name")
        declared = part.get_content_type() if part["content-type"] else None
        parts.append(_FormPart(name, part.get_filename(), declared, payload))
    return parts


def _upload_fields(parts: list[_FormPart]) -> tuple[int | None, _FormPart, str]:
    """``expires_after`` (seconds or None), the file part and ``purpose``; a 400 when
    ``expires_after`` comes after the file, as the API wants it before."""
    expires_after: int | None = None
    upload: _FormPart | None = None
    purpose = ""
    for part in parts:
        if part.name == "expires_after":
            if upload is not None:
                raise Refused(400, "`expires_after` must come before `file` in the form")
            expires_after = _expires_after(part.data)
        elif part.name == "purpose":
            purpose = _decoded(part.data)
        elif part.name == "file" and upload is None:
            upload = part
    if upload is None:
        raise Refused(400, "Missing form field `file`")
    if not upload.filename:
        raise Refused(400, "The `file` part needs a filename in its Content-Disposition")
    return expires_after, upload, purpose


def _expires_after(data: bytes) -> int:
    low, high = EXPIRES_AFTER_RANGE
    seconds = _whole_number(_decoded(data).strip())
    if seconds is None or not low <= seconds <= high:
        raise Refused(400, f"`expires_after` must be whole seconds from {low} to {high}")
    return seconds


def _whole_number(text: str) -> int | None:
    return int(text) if re.fullmatch(r"[0-9]{1,12}", text) else None


def _content_type(upload: _FormPart) -> str:
    declared = upload.content_type
    if declared and declared != "application/octet-stream":
        return declared
    guessed, _ = mimetypes.guess_type(upload.filename or "")
    return guessed or "application/octet-stream"


def _too_large(size: int, limit: int) -> Refused:
    return Refused(413, f"File too large: {size} bytes; at most {limit} bytes may be uploaded")


def _query_value(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _query_int(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    value = _query_value(query, name)
    if value is None:
        return default
    number = _whole_number(value)
    if number is None or not low <= number <= high:
        raise Refused(400, f"`{name}` must be a whole number from {low} to {high}, got {value!r}")
    return number


def _query_choice(
    query: dict[str, list[str]], name: str, allowed: tuple[str, ...], default: str
) -> str:
    value = _query_value(query, name) or default
    if value not in allowed:
        raise Refused(400, f"Invalid {name} {value!r}; expected one of {', '.join(allowed)}")
    return value


def _body_int(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Refused(422, f"`{name}` must be a positive integer, got {value!r}")
    return value


def _text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise Refused(422, f"`{name}` must be a non-empty string")
    return value


def _timestamp(unix: float) -> str:
    """RFC 3339 in UTC, as the management API's JSON renders its timestamps."""
    return datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", "Z")


# --- listing order --------------------------------------------------------------------------

SortKey = tuple[Any, int]


def _sort_key(stored: _File, sort_by: str) -> SortKey:
    if sort_by == "filename":
        return stored.filename, stored.sequence
    value = stored.created_at if sort_by == "created_at" else len(stored.data)
    return value, stored.sequence


def _beyond(key: SortKey, after: SortKey | None, order: str) -> bool:
    """Whether ``key`` comes after the page that ended at ``after`` (None: past the end)."""
    if after is None:
        return False
    return key > after if order == "asc" else key < after


def _encode_token(sort_by: str, order: str, key: SortKey | None) -> str:
    raw = json.dumps([sort_by, order, list(key) if key else None], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii")


def _decode_token(token: str, sort_by: str, order: str) -> SortKey | None:
    """The key the previous page ended at (None: that page was the last)."""
    try:
        kind, direction, key = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, TypeError) as exc:
        raise Refused(400, f"Invalid pagination_token {token!r}") from exc
    if (kind, direction) != (sort_by, order):
        raise Refused(400, "pagination_token belongs to a listing with another sort or order")
    if key is None:
        return None
    value_type = str if sort_by == "filename" else int
    if not (isinstance(key, list) and len(key) == 2 and isinstance(key[0], value_type)):
        raise Refused(400, f"Invalid pagination_token {token!r}")
    if not isinstance(key[1], int):
        raise Refused(400, f"Invalid pagination_token {token!r}")
    return key[0], key[1]
