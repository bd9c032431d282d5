"""xAI's Files API (``/v1/files``, the API key) and Collections (the management host,
its own key), and document search over collections (``/v1/documents/search``).

```python
async with FilesClient() as files, CollectionsClient() as collections:
    uploaded = await files.upload("handbook.md")
    kb = await collections.create("handbook")
    await collections.add_document(kb.collection_id, uploaded.id)
    await collections.wait_for_indexing(kb.collection_id, [uploaded.id])
    hits = await collections.search("refunds", [kb.collection_id])
```

The management key is read from ``XAI_MANAGEMENT_KEY`` (or ``XAI_MANAGEMENT_API_KEY``)
like the API key: it travels in a header only, never in a repr or an error.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx2

from agentkit.errors import ConfigError, ModelError
from agentkit.model.rest import RestClient, Sleep, api_key_from

API_URL = "https://api.x.ai/v1"
MANAGEMENT_URL = "https://management-api.x.ai/v1"
MANAGEMENT_KEY_VARIABLES = ("XAI_MANAGEMENT_KEY", "XAI_MANAGEMENT_API_KEY")
MAX_FILE_BYTES = 50 * 1024 * 1024
PROCESSED, FAILED = "DOCUMENT_STATUS_PROCESSED", "DOCUMENT_STATUS_FAILED"
SearchMode = Literal["hybrid", "semantic", "keyword"]


class FilesError(ModelError):
    """A Files, Collections or document-search request failed."""


class IndexingFailed(FilesError):
    """A document of a collection ended ``DOCUMENT_STATUS_FAILED``."""


@dataclass(frozen=True)
class FileInfo:
    id: str
    filename: str
    bytes: int
    created_at: int
    expires_at: int | None = None
    purpose: str = ""

    @classmethod
    def of(cls, body: dict[str, Any]) -> FileInfo:
        return cls(
            id=str(body.get("id", "")),
            filename=str(body.get("filename", "")),
            bytes=int(body.get("bytes") or 0),
            created_at=int(body.get("created_at") or 0),
            expires_at=body.get("expires_at"),
            purpose=str(body.get("purpose") or ""),
        )


@dataclass(frozen=True)
class Collection:
    collection_id: str
    collection_name: str
    created_at: Any = None
    documents_count: int | None = None

    @classmethod
    def of(cls, body: dict[str, Any]) -> Collection:
        return cls(str(body.get("collection_id", "")), str(body.get("collection_name", "")),
                   body.get("created_at"), body.get("documents_count"))  # fmt: skip


@dataclass(frozen=True)
class DocumentMatch:
    """One chunk document search found (its text is the document's: untrusted)."""

    file_id: str
    chunk_id: str
    text: str
    score: float
    collection_ids: tuple[str, ...] = ()
    page_number: int | None = None


class FilesClient:
    """Upload, list, fetch and delete files (``/v1/files``)."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str = API_URL,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        key = api_key_from(api_key)
        self._rest = RestClient(base_url, key, error=FilesError, transport=transport,
                                sleep=sleep)  # fmt: skip

    def __repr__(self) -> str:
        return f"FilesClient(base_url={self._rest.base!r})"

    async def __aenter__(self) -> FilesClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._rest.aclose()

    async def upload(
        self,
        source: str | os.PathLike[str] | bytes,
        *,
        filename: str | None = None,
        content_type: str = "application/octet-stream",
        expires_after: int | None = None,
    ) -> FileInfo:
        """Upload a file (a path, or bytes with `filename`); `expires_after` 1 h to 30 days."""
        if isinstance(source, bytes):
            if not filename:
                raise ConfigError("upload(bytes) needs filename=")
            data, name = source, filename
        else:
            path = Path(source)
            data, name = await asyncio.to_thread(path.read_bytes), filename or path.name
        if len(data) > MAX_FILE_BYTES:
            raise ConfigError(f"{name} is {len(data)} bytes; the Files API takes up to 50 MB")
        if expires_after is not None and not 3600 <= expires_after <= 2_592_000:
            raise ConfigError("expires_after must be 3600 to 2592000 seconds")
        fields = {} if expires_after is None else {"expires_after": str(expires_after)}
        answer = await self._rest.call("POST", "/files", create=True, ok=(200,), data=fields,
                                       files={"file": (name, data, content_type)})  # fmt: skip
        return FileInfo.of(answer.body)

    async def list_files(
        self,
        *,
        page_size: int = 100,
        order: Literal["asc", "desc"] = "desc",
        sort_by: Literal["created_at", "filename", "size"] = "created_at",
    ) -> AsyncIterator[FileInfo]:
        """Every file, page by page (the last page is the one shorter than `page_size`)."""
        if not 1 <= page_size <= 100:
            raise ConfigError("page_size must be 1 to 100")
        token: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size, "order": order, "sort_by": sort_by}
            if token:
                params["pagination_token"] = token
            answer = await self._rest.call("GET", "/files", create=False, ok=(200,),
                                           params=params)  # fmt: skip
            page = answer.body.get("data") or []
            for item in page:
                yield FileInfo.of(item)
            token = answer.body.get("pagination_token")
            if len(page) < page_size or not token:
                return

    async def get(self, file_id: str) -> FileInfo:
        answer = await self._rest.call("GET", f"/files/{file_id}", create=False, ok=(200,))
        return FileInfo.of(answer.body)

    async def delete(self, file_id: str) -> bool:
        answer = await self._rest.call("DELETE", f"/files/{file_id}", create=False, ok=(200,))
        return bool(answer.body.get("deleted"))

    async def content(self, file_id: str, *, text: bool = False) -> bytes:
        """The file's bytes, or (``text=True``) the text the API extracted from it."""
        params = {"format": "text"} if text else None
        answer = await self._rest.call("GET", f"/files/{file_id}/content", create=False,
                                       ok=(200,), params=params)  # fmt: skip
        return answer.content


class CollectionsClient:
    """Collections (management host, management key) and search over them (API host)."""

    def __init__(
        self,
        *,
        management_key: str | None = None,
        api_key: str | None = None,
        management_url: str = MANAGEMENT_URL,
        base_url: str = API_URL,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        manage = api_key_from(management_key, MANAGEMENT_KEY_VARIABLES)
        self._manage = RestClient(management_url, manage, error=FilesError,
                                  transport=transport, sleep=sleep)  # fmt: skip
        self._search = RestClient(base_url, api_key_from(api_key), error=FilesError,
                                  transport=transport, sleep=sleep)  # fmt: skip
        self._sleep, self._clock = sleep, clock

    def __repr__(self) -> str:
        return f"CollectionsClient(management_url={self._manage.base!r})"

    async def __aenter__(self) -> CollectionsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._manage.aclose()
        await self._search.aclose()

    async def create(self, name: str) -> Collection:
        answer = await self._manage.call("POST", "/collections", create=True, ok=(200,),
                                         json={"collection_name": name})  # fmt: skip
        return Collection.of(answer.body)

    async def list_collections(self) -> list[Collection]:
        answer = await self._manage.call("GET", "/collections", create=False, ok=(200,))
        found = answer.body.get("collections") or answer.body.get("data") or []
        return [Collection.of(c) for c in found if isinstance(c, dict)]

    async def get(self, collection_id: str) -> Collection:
        answer = await self._manage.call("GET", f"/collections/{collection_id}", create=False,
                                         ok=(200,))  # fmt: skip
        return Collection.of(answer.body)

    async def delete(self, collection_id: str) -> None:
        await self._manage.call("DELETE", f"/collections/{collection_id}", create=False,
                                ok=(200, 204))  # fmt: skip

    async def add_document(self, collection_id: str, file_id: str) -> None:
        await self._manage.call("POST", f"/collections/{collection_id}/documents/{file_id}",
                                create=True, ok=(200, 201, 204))  # fmt: skip

    async def remove_document(self, collection_id: str, file_id: str) -> None:
        await self._manage.call("DELETE", f"/collections/{collection_id}/documents/{file_id}",
                                create=False, ok=(200, 204))  # fmt: skip

    async def document_status(self, collection_id: str, file_id: str) -> str:
        answer = await self._manage.call(
            "GET", f"/collections/{collection_id}/documents/{file_id}", create=False, ok=(200,)
        )
        return str(answer.body.get("status") or "")

    async def wait_for_indexing(
        self,
        collection_id: str,
        file_ids: Iterable[str],
        *,
        within: float = 120.0,
        every: float = 2.0,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Wait until every document is processed; `on_progress(done, total)` on changes.

        Raises:
            IndexingFailed: a document failed to index.
            TimeoutError: not all processed within `within` seconds.
        """
        waiting, done = list(dict.fromkeys(file_ids)), 0
        total, deadline = len(waiting), self._clock() + within
        while waiting:
            still = []
            for file_id in waiting:
                status = await self.document_status(collection_id, file_id)
                if status == FAILED:
                    raise IndexingFailed(f"{file_id} failed to index in {collection_id}")
                if status != PROCESSED:
                    still.append(file_id)
            if on_progress is not None and total - len(still) != done:
                on_progress(total - len(still), total)
            waiting, done = still, total - len(still)
            if waiting and self._clock() >= deadline:
                raise TimeoutError(f"{len(waiting)} of {total} documents still indexing")
            if waiting:
                await self._sleep(every)

    async def search(
        self,
        query: str,
        collection_ids: Sequence[str],
        *,
        limit: int = 10,
        mode: SearchMode = "hybrid",
    ) -> list[DocumentMatch]:
        """Chunks of the collections matching `query`, best first."""
        if not collection_ids:
            raise ConfigError("search needs at least one collection id")
        body = {"query": query, "source": {"collection_ids": list(collection_ids)},
                "limit": limit, "retrieval_mode": {"type": mode}}  # fmt: skip
        answer = await self._search.call("POST", "/documents/search", create=False, ok=(200,),
                                         json=body)  # fmt: skip
        return [_match(m) for m in answer.body.get("matches") or [] if isinstance(m, dict)]


def _match(found: dict[str, Any]) -> DocumentMatch:
    score = found.get("score")
    page = found.get("page_number")
    return DocumentMatch(
        file_id=str(found.get("file_id", "")),
        chunk_id=str(found.get("chunk_id", "")),
        text=str(found.get("chunk_content", "")),
        score=float(score) if isinstance(score, int | float) else 0.0,
        collection_ids=tuple(str(c) for c in found.get("collection_ids") or []),
        page_number=page if isinstance(page, int) else None,
    )


class EmbeddingsClient:
    """Vectors for texts (``/v1/embeddings``), for a local index's vector search. `model`
    is one of your account's embedding models (``GET /v1/embedding-models`` lists them);
    the API takes at most 128 texts a request."""

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str = API_URL,
        transport: httpx2.AsyncBaseTransport | None = None,
        batch: int = 64,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not 1 <= batch <= 128:
            raise ConfigError("batch must be 1 to 128 texts")
        self.model = model
        self._batch = batch
        self._rest = RestClient(base_url, api_key_from(api_key), error=FilesError,
                                transport=transport, sleep=sleep)  # fmt: skip

    def __repr__(self) -> str:
        return f"EmbeddingsClient(model={self.model!r}, base_url={self._rest.base!r})"

    async def __aenter__(self) -> EmbeddingsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._rest.aclose()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order (sent in batches)."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch):
            chunk = list(texts[start : start + self._batch])
            answer = await self._rest.call("POST", "/embeddings", create=False, ok=(200,),
                                           json={"model": self.model, "input": chunk})  # fmt: skip
            data = sorted(answer.body.get("data") or [], key=lambda d: int(d.get("index", 0)))
            if len(data) != len(chunk):
                raise FilesError(f"asked for {len(chunk)} embeddings, got {len(data)}")
            vectors.extend([float(x) for x in item.get("embedding") or []] for item in data)
        return vectors


def xai_embedder(
    model: str,
    *,
    api_key: str | None = None,
    base_url: str = API_URL,
    batch: int = 64,
    timeout: float = 60.0,
) -> Callable[[list[str]], list[list[float]]]:
    """A blocking ``texts -> vectors`` function over ``/v1/embeddings``, the shape a
    `agentkit.retrieval.LocalIndex` takes as ``embed=`` (it embeds while it ingests and
    searches, off the event loop)."""
    if not 1 <= batch <= 128:
        raise ConfigError("batch must be 1 to 128 texts")
    key = api_key_from(api_key)
    url = base_url.rstrip("/") + "/embeddings"

    def embed(texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        with httpx2.Client(timeout=timeout) as http:
            for start in range(0, len(texts), batch):
                chunk = texts[start : start + batch]
                response = http.post(url, json={"model": model, "input": chunk},
                                     headers={"Authorization": f"Bearer {key}"})  # fmt: skip
                if response.status_code != 200:
                    raise FilesError(f"POST /embeddings failed: HTTP {response.status_code}")
                data = sorted(response.json().get("data") or [], key=lambda d: int(d["index"]))
                if len(data) != len(chunk):
                    raise FilesError(f"asked for {len(chunk)} embeddings, got {len(data)}")
                vectors.extend([float(x) for x in d.get("embedding") or []] for d in data)
        return vectors

    return embed
