"""What the local index raises: every error is a `RetrievalError`, an `AgentkitError`.

```text
RetrievalError                  the local index could not do what was asked
  DocumentRejected              a document was refused; nothing of it was written (source)
    UnsupportedDocument         not a type the index reads (Markdown, HTML, text, PDF)
    BinaryDocument              declared as text, but its bytes are not text
    UnreadableDocument          a PDF that pypdf cannot read (damaged, encrypted)
    DocumentTooLarge            over the size or page limit
  AclInvalid                    an ACL entry is empty, not a string, or contradicts `public`
  EmbeddingFailed               the embedding function failed or answered malformed vectors
  IndexInvalid                  the file is not an index of this version
  SearchRefused                 no principal to search for: nothing is readable
```

A message names the document it is about (its source) and never another document: a
search error says nothing of documents the principal may not read.
"""

from __future__ import annotations

from agentkit.errors import AgentkitError


class RetrievalError(AgentkitError):
    """The local index could not do what was asked."""


class DocumentRejected(RetrievalError):
    """A document was refused before any of it was written; `source` names it."""

    exit_code = 2

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class UnsupportedDocument(DocumentRejected):
    """Not a type the index reads: Markdown, HTML, plain text or PDF."""


class BinaryDocument(DocumentRejected):
    """Declared as text (by its name or its kind), but its bytes are not text."""


class UnreadableDocument(DocumentRejected):
    """A PDF that pypdf cannot read: damaged, truncated, encrypted, or not a PDF at all."""


class DocumentTooLarge(DocumentRejected):
    """Over the index's byte, character or page limit."""


class AclInvalid(RetrievalError):
    """An ACL entry is empty or not a string, or a public ACL also lists entries."""

    exit_code = 2


class EmbeddingFailed(RetrievalError):
    """The embedding function raised, or answered vectors of the wrong number or size."""


class IndexInvalid(RetrievalError):
    """The file is not a local index, or one of a schema version this code cannot read."""

    exit_code = 2


class SearchRefused(RetrievalError):
    """No principal to search for (outside a run's tool call): nothing is readable."""

    exit_code = 3
