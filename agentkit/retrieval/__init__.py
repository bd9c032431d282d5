"""A local index of an approved corpus, where every user retrieves only what they may read.

- `LocalIndex`: documents, chunks and ACLs in one SQLite file; `sync` a folder or
  documents, `search` as a principal (BM25, fused with vectors when given `embed`);
- `Document` / `Acl`: what is indexed, and who may read it (deny by default);
- `DocumentHit` / `SyncResult`: what a search and a sync answer;
- `search_documents_tool`: the built-in tool, searching as the run's principal;
- `BUDGETS` / `estimate_tokens`: chunk sizes per kind of document;
- `RetrievalError` and its subclasses: what goes wrong, naming the document.
"""

# Lazy, like the package's own exports: importing agentkit.retrieval loads no SQLite or PDF code.
from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from agentkit.retrieval.acl import Acl
    from agentkit.retrieval.chunking import BUDGETS, Budget, estimate_tokens
    from agentkit.retrieval.documents import Document
    from agentkit.retrieval.index import LocalIndex, StoredChunk, SyncResult
    from agentkit.retrieval.ingest import Limits
    from agentkit.retrieval.retrieval_errors import (
        AclInvalid,
        BinaryDocument,
        DocumentRejected,
        DocumentTooLarge,
        EmbeddingFailed,
        IndexInvalid,
        RetrievalError,
        SearchRefused,
        UnreadableDocument,
        UnsupportedDocument,
    )
    from agentkit.retrieval.search import DocumentHit
    from agentkit.retrieval.search_tool import search_documents_tool

_EXPORTS = {
    "Acl": "agentkit.retrieval.acl",
    "BUDGETS": "agentkit.retrieval.chunking",
    "Budget": "agentkit.retrieval.chunking",
    "estimate_tokens": "agentkit.retrieval.chunking",
    "Document": "agentkit.retrieval.documents",
    "AclInvalid": "agentkit.retrieval.retrieval_errors",
    "BinaryDocument": "agentkit.retrieval.retrieval_errors",
    "DocumentRejected": "agentkit.retrieval.retrieval_errors",
    "DocumentTooLarge": "agentkit.retrieval.retrieval_errors",
    "EmbeddingFailed": "agentkit.retrieval.retrieval_errors",
    "IndexInvalid": "agentkit.retrieval.retrieval_errors",
    "RetrievalError": "agentkit.retrieval.retrieval_errors",
    "SearchRefused": "agentkit.retrieval.retrieval_errors",
    "UnreadableDocument": "agentkit.retrieval.retrieval_errors",
    "UnsupportedDocument": "agentkit.retrieval.retrieval_errors",
    "LocalIndex": "agentkit.retrieval.index",
    "StoredChunk": "agentkit.retrieval.index",
    "SyncResult": "agentkit.retrieval.index",
    "Limits": "agentkit.retrieval.ingest",
    "DocumentHit": "agentkit.retrieval.search",
    "search_documents_tool": "agentkit.retrieval.search_tool",
}

__all__ = [
    "BUDGETS",
    "Acl",
    "AclInvalid",
    "BinaryDocument",
    "Budget",
    "Document",
    "DocumentHit",
    "DocumentRejected",
    "DocumentTooLarge",
    "EmbeddingFailed",
    "IndexInvalid",
    "Limits",
    "LocalIndex",
    "RetrievalError",
    "SearchRefused",
    "StoredChunk",
    "SyncResult",
    "UnreadableDocument",
    "UnsupportedDocument",
    "estimate_tokens",
    "search_documents_tool",
]

__getattr__, __dir__ = lazy_exports("agentkit.retrieval", _EXPORTS, globals())
