"""`LocalIndex`: an approved corpus in one SQLite file, searched per principal.

```python
index = LocalIndex("corpus.db")
index.sync("handbook/", acl_for=lambda doc: Acl(roles=["staff"], workspaces=["acme"]))
hits = index.search("parental leave", Principal(user_id="ana", roles=("staff",), workspace="acme"))
```

Writes go through one connection, each sync or add in one transaction: a document is
written whole or not at all, and a sync is seen whole or not at all (a search during it
reads the index as it was). Searches use a connection of their own, so a long sync does
not hold them up.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentkit.decision import Principal
from agentkit.errors import ConfigError
from agentkit.retrieval.acl import Acl
from agentkit.retrieval.documents import (
    Document,
    check_doc_id,
    folder_paths,
    now,
    read_file,
)
from agentkit.retrieval.ingest import Limits, Parsed, parse_document
from agentkit.retrieval.retrieval_errors import (
    AclInvalid,
    DocumentRejected,
    RetrievalError,
    SearchRefused,
)
from agentkit.retrieval.schema import SECTION_SEPARATOR, connect, create_tables
from agentkit.retrieval.search import DocumentHit, match_expression, ranked
from agentkit.retrieval.vectors import Embed, VectorBackend, embed_texts, load_distance

MAX_LIMIT = 100
_DEPTH_FACTOR = 4
"""Each arm of a fused search ranks this many times the hits asked for."""
Outcome = Literal["added", "updated", "unchanged"]
AclFor = Callable[[Document], Acl]


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync did, by document."""

    added: int = 0
    updated: int = 0
    """Re-chunked (the content changed) or given a new ACL or source."""
    removed: int = 0
    unchanged: int = 0
    failed: tuple[str, ...] = ()
    """doc_ids refused under ``on_error="skip"``; an older version of each was removed."""


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk as stored, for the operator who built the index (no ACL applies here)."""

    chunk_id: str
    ordinal: int
    section: str
    page: int | None
    text: str
    tokens: int


class LocalIndex:
    """Documents, their chunks and ACLs in SQLite; BM25 search, vectors when given `embed`.

    Args:
        path: The index file (created when missing), or ``":memory:"``.
        embed: Texts to vectors; with it every chunk gets a vector and a search fuses
            BM25 and vector nearest neighbours by reciprocal rank (k=60).
        limits: The largest document accepted.

    Raises:
        IndexInvalid: `path` is not an index of this schema version.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        embed: Embed | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.limits = limits or Limits()
        self._embed = embed
        self._writer = connect(self.path)
        create_tables(self._writer, self.path)
        self._reader = self._writer if self.path == ":memory:" else connect(self.path)
        self._write_lock = threading.Lock()
        self._read_lock = self._write_lock if self._reader is self._writer else threading.Lock()
        backend = load_distance(self._reader)
        if self._reader is not self._writer:
            load_distance(self._writer)
        self._backend: VectorBackend | None = backend if embed is not None else None

    @property
    def vectors(self) -> VectorBackend | None:
        """How vectors are compared (``"sqlite-vec"`` or ``"python"``); None without `embed`."""
        return self._backend

    def close(self) -> None:
        if self._reader is not self._writer:
            self._reader.close()
        self._writer.close()

    def __enter__(self) -> LocalIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalIndex({self.path!r}, vectors={self._backend!r})"

    # --- writing ---------------------------------------------------------------------------

    def add(self, document: Document) -> Outcome:
        """Index `document` with its own ACL, replacing an older version of it.

        Raises:
            DocumentRejected: a subclass saying why; the index is unchanged.
            EmbeddingFailed: the embedding function failed; the index is unchanged.
        """
        with self._transaction():
            return self._put(document, document.acl)

    def remove(self, doc_id: str) -> bool:
        """Remove a document and its chunks; False when it was not indexed."""
        with self._transaction():
            return self._delete(doc_id)

    def sync(
        self,
        source: str | os.PathLike[str] | Iterable[Document],
        *,
        acl_for: AclFor | None = None,
        on_error: Literal["raise", "skip"] = "raise",
    ) -> SyncResult:
        """Make the index hold exactly `source`: a folder's documents, or the ones given.

        A document whose content (sha256), kind, title, ACL and source are as indexed is
        skipped; one whose content changed is chunked again, its old chunks deleted; an
        indexed document not in `source` is removed. All in one transaction.

        Args:
            source: A folder (its Markdown, HTML, text and PDF files, by relative path), or
                documents.
            acl_for: Each document's ACL; default the document's own (which grants nobody
                unless set). A folder's documents need it.
            on_error: ``"raise"``: a refused document stops the sync and nothing of it is
                kept. ``"skip"``: it is left out, and an older version of it removed (never
                served stale); its doc_id is in ``failed``.

        Raises:
            DocumentRejected: under ``"raise"``; the index is unchanged.
            EmbeddingFailed: the embedding function failed; the index is unchanged.
            AclInvalid: `acl_for` answered something other than an `Acl`.
        """
        if on_error not in ("raise", "skip"):
            raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        failed: list[str] = []
        present: set[str] = set()
        with self._transaction():
            for doc_id, load in _loaders(source, self.limits.max_bytes):
                if doc_id in present:
                    raise RetrievalError(f"{doc_id}: given twice in one sync")
                present.add(doc_id)
                try:
                    document = load()
                    counts[self._put(document, _acl(document, acl_for))] += 1
                except DocumentRejected:
                    if on_error == "raise":
                        raise
                    self._delete(doc_id)
                    failed.append(doc_id)
            stale = [
                row[0]
                for row in self._writer.execute("SELECT doc_id FROM documents")
                if row[0] not in present
            ]
            for doc_id in stale:
                self._delete(doc_id)
        return SyncResult(removed=len(stale), failed=tuple(failed), **counts)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._writer, self._write_lock)

    def _put(self, document: Document, acl: Acl) -> Outcome:
        check_doc_id(document.doc_id)
        kind = document.resolved_kind()
        sha = document.sha256()
        row = self._writer.execute(
            "SELECT sha256, kind, title, acl, source FROM documents WHERE doc_id = ?",
            (document.doc_id,),
        ).fetchone()
        source = document.source or document.doc_id
        if row is not None and (row[0], row[1]) == (sha, kind) and document.title in (None, row[2]):
            if (row[3], row[4]) == (acl.to_json(), source):
                return "unchanged"
            self._write_acl(document.doc_id, acl)
            self._writer.execute(
                "UPDATE documents SET source = ?, updated_at = ? WHERE doc_id = ?",
                (source, document.updated_at or now(), document.doc_id),
            )
            return "updated"
        parsed = parse_document(document, self.limits)
        vectors = self._vectors(document, parsed)
        self._delete(document.doc_id)
        self._writer.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, ?)",
            (document.doc_id, source, parsed.title, kind, sha, "", document.updated_at or now()),
        )
        self._write_acl(document.doc_id, acl)
        self._write_chunks(document.doc_id, parsed, vectors)
        return "added" if row is None else "updated"

    def _vectors(self, document: Document, parsed: Parsed) -> list[bytes] | None:
        if self._embed is None or not parsed.chunks:
            return None
        stored = self._writer.execute("SELECT value FROM meta WHERE key = 'dimensions'").fetchone()
        texts = [chunk.text for chunk in parsed.chunks]
        packed, size = embed_texts(
            self._embed, texts, document.where, int(stored[0]) if stored else None
        )
        if stored is None:
            self._writer.execute("INSERT INTO meta VALUES ('dimensions', ?)", (str(size),))
        return packed

    def _write_acl(self, doc_id: str, acl: Acl) -> None:
        self._writer.execute("DELETE FROM acl_entries WHERE doc_id = ?", (doc_id,))
        self._writer.executemany(
            "INSERT INTO acl_entries (kind, value, doc_id) VALUES (?, ?, ?)",
            [(kind, value, doc_id) for kind, value in acl.entries()],
        )
        self._writer.execute(
            "UPDATE documents SET acl = ?, public = ?, scoped = ?, granted = ? WHERE doc_id = ?",
            (
                acl.to_json(),
                acl.public,
                bool(acl.workspaces),
                bool(acl.users or acl.roles),
                doc_id,
            ),
        )

    def _write_chunks(self, doc_id: str, parsed: Parsed, vectors: list[bytes] | None) -> None:
        for n, chunk in enumerate(parsed.chunks):
            digest = hashlib.sha256(chunk.text.encode("utf-8")).hexdigest()[:8]
            cursor = self._writer.execute(
                "INSERT INTO chunks (chunk_id, doc_id, ordinal, section, page, text, tokens)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    f"{doc_id}#{chunk.ordinal}-{digest}",
                    doc_id,
                    chunk.ordinal,
                    SECTION_SEPARATOR.join(chunk.section),
                    chunk.page,
                    chunk.text,
                    chunk.tokens,
                ),
            )
            if vectors is not None:
                self._writer.execute(
                    "INSERT INTO chunk_vectors VALUES (?, ?)", (cursor.lastrowid, vectors[n])
                )

    def _delete(self, doc_id: str) -> bool:
        self._writer.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        self._writer.execute("DELETE FROM acl_entries WHERE doc_id = ?", (doc_id,))
        cursor = self._writer.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        return cursor.rowcount > 0

    # --- reading ---------------------------------------------------------------------------

    def search(self, query: str, principal: Principal, limit: int = 8) -> list[DocumentHit]:
        """The best chunks for `query` among the documents `principal` may read.

        Documents it may not read are filtered out inside the query, before ranking:
        they never appear, are never counted, and never take a place in the limit.

        Raises:
            SearchRefused: `principal` is not a Principal (nothing is readable then).
            ConfigError: `limit` is not between 1 and 100.
            EmbeddingFailed: the embedding function failed on the query.
        """
        if not isinstance(principal, Principal):
            raise SearchRefused("no principal to search for: nothing is readable")
        if not 1 <= limit <= MAX_LIMIT:
            raise ConfigError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        match = match_expression(query)
        vector = None
        if self._embed is not None and query.strip():
            packed, _ = embed_texts(self._embed, [query], "the query", None)
            vector = packed[0]
        if match is None and vector is None:
            return []
        with self._read_lock:
            return ranked(
                self._reader, principal, match, vector, limit=limit, depth=limit * _DEPTH_FACTOR
            )

    def doc_ids(self) -> list[str]:
        """Every indexed document's id, for the operator (no ACL applies here)."""
        with self._read_lock:
            rows = self._reader.execute("SELECT doc_id FROM documents ORDER BY doc_id")
            return [row[0] for row in rows]

    def chunks(self, doc_id: str) -> list[StoredChunk]:
        """A document's chunks in order, for the operator (no ACL applies here)."""
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT chunk_id, ordinal, section, page, text, tokens FROM chunks"
                " WHERE doc_id = ? ORDER BY ordinal",
                (doc_id,),
            ).fetchall()
        return [StoredChunk(*row) for row in rows]


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the writer's lock; ``ROLLBACK`` on error."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn = conn
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        try:
            self._conn.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self._lock.release()


def _acl(document: Document, acl_for: AclFor | None) -> Acl:
    acl = document.acl if acl_for is None else acl_for(document)
    if not isinstance(acl, Acl):
        raise AclInvalid(f"{document.where}: acl_for answered {type(acl).__name__}, not an Acl")
    return acl


def _loaders(
    source: str | os.PathLike[str] | Iterable[Document], max_bytes: int
) -> Iterator[tuple[str, Callable[[], Document]]]:
    """(doc_id, read it) for each document of `source`: a file is read only when asked,
    so a file that cannot be read is refused by its doc_id."""
    if isinstance(source, str | os.PathLike):
        root = Path(source)
        for path, doc_id in folder_paths(root):
            yield doc_id, functools.partial(read_file, path, doc_id, max_bytes)
        return
    for document in source:
        if not isinstance(document, Document):
            raise RetrievalError(f"sync takes Documents, got {type(document).__name__}")
        yield document.doc_id, functools.partial(_same, document)


def _same(document: Document) -> Document:
    return document
